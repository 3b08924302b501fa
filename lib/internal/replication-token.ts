import { Construct } from 'constructs';
import { replicationRules } from './acl-rules';
import { dependsOnAll } from './dependencies';
import { AclPolicy, AclToken, ConsulProvider, DataConsulAclTokenSecretId } from './providers';
import { ITerraformDependable } from './tf';

/**
 * A global token, created in the primary once its servers are ready, that
 * secondaries replicate ACLs (and config entries) with. Returns its secret,
 * read through a data source so it is never a literal anywhere.
 */
export function createReplicationToken(scope: Construct, primary: { provider: ConsulProvider; readiness: ITerraformDependable[] }, prefix: string): string {
  const policy = new AclPolicy(scope, 'ReplicationPolicy', {
    provider: primary.provider,
    name: `${prefix}-acl-replication`,
    description: 'ACL and config entry replication for secondary datacenters',
    rules: replicationRules(),
    dependsOn: dependsOnAll(primary.readiness),
  });
  const token = new AclToken(scope, 'ReplicationToken', {
    provider: primary.provider,
    description: 'ACL replication for secondary datacenters',
    policies: [policy.name],
  });
  return new DataConsulAclTokenSecretId(scope, 'ReplicationTokenSecret', {
    provider: primary.provider,
    accessorId: token.accessorId,
  }).secretId;
}
