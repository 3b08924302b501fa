// Facts of examples/federated-pair as deployed by the e2e suites: the
// sensitive variables they supply, the published API ports, container names.
import { spawnSync } from 'child_process';
import { randomUUID } from 'crypto';

/** What the example publishes: dc1's HTTP API on 127.0.0.1:8500, dc2's on :8501. */
export const PORT = { dc1: 8500, dc2: 8501 } as const;
export type Dc = keyof typeof PORT;
export const SERVER = { dc1: 'consul-dc1-server-0', dc2: 'consul-dc2-server-0' } as const;

/** A fresh management token and gossip key, as TF_VAR_fed_* would carry them. */
export function pairVariables(consulBin: string): { token: string; vars: Record<string, string> } {
  const token = randomUUID();
  return {
    token,
    vars: {
      fed_management_token: token,
      fed_gossip_key: spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim(),
    },
  };
}
