// What the real-Consul mode suites register in the harness's two datacenters,
// and how they read what Consul would serve a proxy's Envoy over xDS.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ConsulVersion } from '../../lib';
import { ConsulCluster } from './consul-cluster';
import { TerraformWorkspace } from './terraform';
import { requireTool } from './tools';

/** Registers a service with dc's agent, failing the test on anything but 200. */
export async function registerService(cluster: ConsulCluster, dc: 'dc1' | 'dc2', body: unknown): Promise<void> {
  const r = await cluster.api(dc, 'PUT', '/v1/agent/service/register', body, cluster.managementToken);
  expect({ dc, status: r.status, text: r.text }).toEqual({ dc, status: 200, text: '' });
}

/**
 * A mesh gateway in each datacenter (LAN 10.0.<n>.5:8443, WAN 192.0.2.<n>:8443)
 * and `api` with its sidecar (10.0.<n>.7, sidecar port 21000) in `apiIn`.
 */
export async function registerGatewaysAndApi(cluster: ConsulCluster, apiIn: ('dc1' | 'dc2')[]): Promise<void> {
  for (const [dc, n] of [['dc1', 1], ['dc2', 2]] as const) {
    await registerService(cluster, dc, {
      Kind: 'mesh-gateway', Name: 'mesh-gateway', ID: `mesh-gateway-${dc}`, Address: `10.0.${n}.5`, Port: 8443,
      TaggedAddresses: { lan: { Address: `10.0.${n}.5`, Port: 8443 }, wan: { Address: `192.0.2.${n}`, Port: 8443 } },
    });
    if (apiIn.includes(dc)) {
      await registerService(cluster, dc, { Name: 'api', ID: 'api', Address: `10.0.${n}.7`, Port: 8080, Connect: { SidecarService: { Port: 21000 } } });
    }
  }
}

/** What a proxy's Envoy would be served, as tools/xds summarizes it. */
export interface Served {
  readonly clusters: { name: string; sni?: string; caFile?: string }[];
  readonly endpoints: Record<string, string[]>;
  readonly listeners: { name: string; address: string; filterChains: { serverNames?: string[]; filters: string[]; rds?: string }[] }[];
  readonly routes: { name: string; virtualHosts: { name: string; domains: string[]; clusters: string[] }[] }[];
}

/**
 * What the Consul agent at `addr` (plaintext gRPC) would serve an Envoy
 * running proxy `proxyId` of `service`, presenting the Envoy version that
 * Consul release supports by default. `where` wraps the command line, e.g.
 * to run it in a Docker engine's network namespace.
 */
export function xdsAt(addr: string, token: string, proxyId: string, service: string, consul: ConsulVersion,
  where: (argv: string[]) => string[] = (argv) => argv): Served {
  const envoyVersion = consul.defaultEnvoyImage.replace(/^.*:v/, '');
  const [command, ...args] = where([requireTool('xds'), '-addr', addr, '-token', token, '-proxy-id', proxyId, '-service', service, '-envoy-version', envoyVersion]);
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) throw new Error(`cmesh-xds ${proxyId} at ${addr}: exit ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** What dc1's Consul would serve an Envoy running proxy `proxyId` of `service` (tools/xds). */
export function readXds(cluster: ConsulCluster, proxyId: string, service: string, consul: ConsulVersion): Served {
  return xdsAt(cluster.dc1.grpcAddr, cluster.managementToken, proxyId, service, consul);
}

/** After a suite: destroy what a run that stopped early left applied, then stop the harness and remove the work dir. */
export async function tearDown(cluster: ConsulCluster | undefined, workspace: TerraformWorkspace | undefined, work: string): Promise<void> {
  if (workspace && (await workspace.stateList()).length > 0) await workspace.destroy().catch(() => undefined);
  workspace?.remove();
  await cluster?.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

/** Registers a MeshService's agent definition with dc1's agent, as `consul services register` does. */
export function registerDefinition(cluster: ConsulCluster, work: string, service: { readonly sidecarId: string; readonly definitionJson: string }): void {
  const file = path.join(work, `${service.sidecarId}.json`);
  fs.writeFileSync(file, service.definitionJson);
  const registered = cluster.consulCli('dc1', ['services', 'register', file], { token: cluster.managementToken });
  expect({ register: registered.status, stderr: registered.stderr }).toEqual({ register: 0, stderr: '' });
}
