// The one-shots that hand a running server its tokens: its agent token,
// and (servers in a stack applied before the token exists) its ACL
// replication token, both in one container. Apart from the server, because a
// datacenter whose servers are in a stack of their own runs them from its own stack.
import { Construct } from 'constructs';
import { consulCliEnv, pollUntil, StackEngine } from './stack-engine';
import { CONSUL_PORTS } from '../internal/agent-config';
import { AclToken, ConsulProvider, Container, DataConsulAclTokenSecretId } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

/** What `setAgentToken` needs of a server. */
export interface AgentTokenTarget {
  readonly nodeName: string;
  /** The server container's name, which the one-shot's is made from. */
  readonly containerName: string;
  readonly datacenter: string;
  readonly lanAddress: string;
  readonly image: string;
  readonly managementToken: string;
  /** Where the token is created (the primary's ACLs). */
  readonly globalProvider: ConsulProvider;
  /** The server's container, when it is in the same stack. */
  readonly after?: ITerraformDependable;
}

/**
 * The agent token can only exist once the datacenter does: create a
 * node-identity token, then hand it to the running agent, which persists it.
 * With `replication`, the same one-shot hands over that token too (see
 * below): one container per server instead of two, each a start the Docker
 * engine pays for, in a secondary's every deploy. Returns the one-shot.
 */
export function setAgentToken(scope: Construct, engine: StackEngine, server: AgentTokenTarget,
  replication?: { readonly token: string; readonly primaryDatacenter: string }): Container {
  const token = new AclToken(scope, 'AgentToken', {
    provider: server.globalProvider,
    description: `Agent token of ${server.nodeName}`,
    nodeIdentities: [{ nodeName: server.nodeName, datacenter: server.datacenter }],
    ...(server.after ? { dependsOn: [server.after] } : {}),
  });
  const secret = new DataConsulAclTokenSecretId(scope, 'AgentTokenSecret', {
    provider: server.globalProvider,
    accessorId: token.accessorId,
  });
  return engine.oneShot(scope, replication ? 'Tokens' : 'SetAgentToken', {
    name: `${server.containerName}-${replication ? 'tokens' : 'set-agent-token'}`,
    image: engine.image(server.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [replication ? handOverTokens(server, replication.primaryDatacenter) : SET_AGENT_TOKEN],
    env: [
      ...consulCliEnv(server.lanAddress, server.managementToken),
      `AGENT_TOKEN=${secret.secretId}`,
      ...(replication ? [`REPLICATION_TOKEN=${replication.token}`] : []),
    ],
  }, { joins: server.containerName });
}

/** Hands the running agent its agent token (from `$AGENT_TOKEN`), which it persists. */
const SET_AGENT_TOKEN = 'consul acl set-agent-token agent "$AGENT_TOKEN"';

/**
 * The script that gives a running secondary server its agent token, then its
 * ACL replication token, and waits until replication has run, for a server that
 * started without it (its stack is applied before the token exists). The
 * agent persists the token, so a recreated container keeps it.
 *
 * Config entry replication needs more: begun without a token, it is parked in
 * a blocking query made as anonymous, which an entry write answers (with
 * nothing it may see); only its next query carries the token, and that one
 * waits for the write after. Entries written together right after the
 * handover could all fall in between and stay unreplicated until the next
 * change. So a probe entry of this server's own is written in the primary,
 * again every 0.2 s (one to four writes), until this server has it (its replicator lists with the
 * token), then deleted: whatever is written after replicates.
 */
function handOverTokens(server: AgentTokenTarget, primaryDatacenter: string): string {
  const api = `http://${server.lanAddress}:${CONSUL_PORTS.http}`;
  const replicated = `wget -qO- ${api}/v1/acl/replication | grep '"ReplicatedIndex":[1-9]' | grep -q '"ReplicatedTokenIndex":[1-9]'`;
  const probe = `cmesh-replication-probe-${server.nodeName}`;
  // Each write changes the entry (a counter of its own), so each is a change the replicator wakes for.
  const write = `i=$((i+1)); printf '{"Kind":"service-defaults","Name":"${probe}","Meta":{"write":"%s"}}' "$i" | consul config write -datacenter ${primaryDatacenter} - >/dev/null`;
  const seen = `consul config read -kind service-defaults -name ${probe} -stale >/dev/null 2>&1`;
  return [
    'set -e',
    SET_AGENT_TOKEN,
    'consul acl set-agent-token replication "$REPLICATION_TOKEN"',
    pollUntil(replicated, 'ACL replication did not run', 120, 0.1),
    'i=0',
    pollUntil(`{ ${write}; ${seen}; }`, 'config entry replication did not list with the token', 120, 0.2),
    `consul config delete -kind service-defaults -name ${probe} -datacenter ${primaryDatacenter}`,
  ].join('; ');
}
