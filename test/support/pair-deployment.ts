// Facts of examples/federated-pair as deployed by the e2e suites: the
// sensitive variables they supply, the published API ports, container names.
import { spawnSync } from 'child_process';
import { randomUUID } from 'crypto';

/** What the example publishes: dc1's HTTP API on 127.0.0.1:8500, dc2's on :8501. */
export const PORT = { dc1: 8500, dc2: 8501 } as const;
export type Dc = keyof typeof PORT;
export const SERVER = { dc1: 'consul-dc1-server-0', dc2: 'consul-dc2-server-0' } as const;

/**
 * A fresh management token and gossip key, as TF_VAR_<prefix>_management_token
 * and TF_VAR_<prefix>_gossip_key carry them (prefix: the federation's or the
 * datacenter's construct id; several prefixes share one token).
 */
export function pairVariables(consulBin: string, ...prefixes: string[]): { token: string; vars: Record<string, string> } {
  const token = randomUUID();
  const vars: Record<string, string> = {};
  for (const prefix of prefixes.length > 0 ? prefixes : ['fed']) {
    vars[`${prefix}_management_token`] = token;
    vars[`${prefix}_gossip_key`] = spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim();
  }
  return { token, vars };
}
