import { Construct } from 'constructs';
import { replicationRules } from './acl-rules';
import { dependsOnAll } from './dependencies';
import { AclPolicy, AclToken, ConsulProvider, DataConsulAclTokenSecretId } from './providers';
import { ITerraformDependable } from './tf';
import { forgetEarlierGenerations, generationId } from './token-rotation';

/** What every generation of the replication token is described as: how the old ones are found. */
export const REPLICATION_TOKEN_DESCRIPTION = 'ACL replication for secondary datacenters';

/**
 * A global token, created in the primary once its servers are ready, that
 * secondaries replicate ACLs (and config entries) with. Returns its secret,
 * read through a data source so it is never a literal anywhere, and its
 * accessor. A new `rotation.generation` rotates it (see token-rotation.ts).
 */
export function createReplicationToken(scope: Construct, primary: { provider: ConsulProvider; readiness: ITerraformDependable[] }, prefix: string,
  rotation: { generation: number; runtimeRetires: boolean } = { generation: 1, runtimeRetires: false }): { secret: string; accessor: string } {
  const policy = new AclPolicy(scope, 'ReplicationPolicy', {
    provider: primary.provider,
    name: `${prefix}-acl-replication`,
    description: 'ACL and config entry replication for secondary datacenters',
    rules: replicationRules(),
    dependsOn: dependsOnAll(primary.readiness),
  });
  const token = new AclToken(scope, generationId('ReplicationToken', rotation.generation), {
    provider: primary.provider,
    description: REPLICATION_TOKEN_DESCRIPTION,
    policies: [policy.name],
  });
  if (rotation.runtimeRetires) forgetEarlierGenerations(scope, 'ReplicationToken', rotation.generation);
  const secret = new DataConsulAclTokenSecretId(scope, 'ReplicationTokenSecret', {
    provider: primary.provider,
    accessorId: token.accessorId,
  }).secretId;
  return { secret, accessor: token.accessorId };
}
