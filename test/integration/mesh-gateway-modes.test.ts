// The resolver's answer for every case in mode-cases, compared with what real
// Consul reports once the case's stack is applied with real `tofu` (the
// hashicorp/consul provider) and the rendered service definition is
// registered: the agent's merged upstream mode
// (/v1/agent/service/<sidecar-id>) and, for federation upstreams, the mode of
// the discovery chain's target, compiled with the override the sidecar sends
// (its merged upstream mode). Any mismatch fails with both answers shown.
// For federation upstreams it also reads what Consul would serve the
// sidecar's Envoy over xDS (tools/xds): the endpoints of the upstream's
// cluster are the dc1 gateway's LAN address (local), the dc2 gateway's WAN
// address (remote) or the instance itself (none), as the resolver predicts.
// One workspace serves every case: each case's stack is written over the
// previous one and applied (tofu updates, replaces or deletes the previous
// case's entries), a plan right after each apply must be empty, and a destroy
// at the end must leave no entry behind.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { ConsulVersion, MeshGatewayModes } from '../../lib';
import { ConsulCluster } from '../support/consul-cluster';
import { readXds, registerDefinition, registerGatewaysAndApi, tearDown } from '../support/mesh-fixtures';
import { buildModeCase, MODE_CASES, ModeCase } from '../support/mode-cases';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

/** The version the harness's servers run: what every ExistingDatacenter of the stacks declares. */
const consulVersion = ConsulVersion.of(toolVersion('consul'));
/** service-defaults UpstreamConfig.Overrides[].Peer arrived in Consul 1.15. */
const OVERRIDE_PEER_SINCE = ConsulVersion.of('1.15.0');

let cluster: ConsulCluster;
let workspace: TerraformWorkspace | undefined;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modes-'));

const api = (method: string, urlPath: string, body?: unknown) => cluster.api('dc1', method, urlPath, body, cluster.managementToken);

/** Where each mode sends web's calls to api in dc2: addresses of the gateways and the instance registered below. */
const SERVED_BY_MODE: Record<string, string> = { local: '10.0.1.5:8443', remote: '192.0.2.2:8443', none: '10.0.2.7:21000' };

/** What Consul would serve an Envoy running proxy `proxyId` of dc1 (tools/xds). */
const xds = (proxyId: string, service: string) => readXds(cluster, proxyId, service, consulVersion);
const addresses = () => ({ dc1: cluster.dc1.httpAddr, dc2: cluster.dc2.httpAddr });

/** The case's stack, as `cdktf synth` writes it, and its web service. */
function synthCase(c: ModeCase) {
  const stack = new TerraformStack(Testing.app(), 'modes');
  const service = buildModeCase(stack, c, addresses(), consulVersion);
  const [predicted] = MeshGatewayModes.explain(stack);
  return { json: JSON.parse(Testing.synth(stack, true)), service, predicted };
}

/** The one workspace of the file, created (and initialised) with the first stack it applies. */
function workspaceFor(json: object): TerraformWorkspace {
  if (!workspace) workspace = new TerraformWorkspace(json, { vars: { token: cluster.managementToken }, prefix: 'modes-tf-' });
  else workspace.write(json);
  return workspace;
}

/** `Kind/Name` of every proxy-defaults and service-defaults entry in the cluster. */
async function storedEntries(): Promise<string[]> {
  const entries: string[] = [];
  for (const kind of ['proxy-defaults', 'service-defaults']) {
    const r = await api('GET', `/v1/config/${kind}`);
    expect(r.status).toBe(200);
    entries.push(...(r.json ?? []).map((e: any) => `${e.Kind}/${e.Name}`));
  }
  return entries.sort();
}

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
  await cluster.waitForLeaders();
  // A mesh gateway in each datacenter, and api (with its sidecar) in dc2: what the upstream's endpoints can be.
  await registerGatewaysAndApi(cluster, ['dc2']);
}, 120_000);

// The last test destroys; this only covers a run that stopped before it.
afterAll(() => tearDown(cluster, workspace, work));

test('covers every layer at least once', () => {
  expect(new Set(MODE_CASES.map((c) => c.expect.decidedBy)).size).toBe(8);
  expect(MODE_CASES.length).toBeGreaterThanOrEqual(12);
});

test('the harness runs the Consul version the stacks are built for', async () => {
  const self = (await api('GET', '/v1/agent/self')).json;
  expect(ConsulVersion.of(self.Config.Version).toString()).toBe(consulVersion.toString());
});

test.each(MODE_CASES.map((c) => [c.name, c]))('%s: the resolver agrees with Consul', async (_name, c) => {
  if (c.overridePeer !== undefined && !consulVersion.atLeast(OVERRIDE_PEER_SINCE)) {
    // Consul before 1.15 has no UpstreamConfig.Overrides[].Peer: the library
    // refuses the override at synth rather than have the apply fail (or the
    // field be dropped). There is nothing to apply, so this case checks the
    // refusal; the resolver's prediction for it stays checked in
    // test/unit/mesh-gateway-modes.test.ts (default version 1.19.2).
    expect(() => synthCase(c)).toThrow(/service-defaults UpstreamConfig\.Overrides\[\]\.Peer needs Consul 1\.15\.0 or newer, and this datacenter runs 1\.14/);
    return;
  }
  const { json, service, predicted } = synthCase(c);
  const ws = workspaceFor(json);
  await ws.apply();
  await ws.expectNoChanges();

  // What the stack declares is what Consul holds, and nothing of an earlier case is left.
  const declared = Object.values<any>(json.resource?.consul_config_entry ?? {}).map((e) => `${e.kind}/${e.name}`).sort();
  expect({ case: c.name, entries: await storedEntries() }).toEqual({ case: c.name, entries: declared });

  const token = cluster.managementToken;
  try {
    registerDefinition(cluster, work, service);

    const sidecar = await api('GET', `/v1/agent/service/${service.sidecarId}`);
    const agentMode = sidecar.json.Proxy.Upstreams[0].MeshGateway?.Mode ?? '';
    const consul: Record<string, string> = { agentMode };
    if (!c.peer) {
      // What the sidecar asks for: the chain in the upstream's datacenter, overridden by its merged mode.
      const chain = await api('POST', '/v1/discovery-chain/api?compile-dc=dc2', { OverrideMeshGateway: { Mode: agentMode } });
      const targets = Object.entries<any>(chain.json.Chain.Targets);
      expect(targets.map(([id]) => id)).toEqual(['api.default.default.dc2']);
      consul.mode = targets[0][1].MeshGateway?.Mode || 'none';
      // And what Envoy would be told: the endpoints of the upstream's cluster.
      const served = xds(service.sidecarId, 'web');
      const upstream = Object.entries(served.endpoints).filter(([name]) => /(^|~)api\.default\.dc2\./.test(name));
      expect({ case: c.name, mode: predicted.mode, endpoints: upstream.map(([, e]) => e) })
        .toEqual({ case: c.name, mode: predicted.mode, endpoints: [[SERVED_BY_MODE[predicted.mode]]] });
    } else {
      // Peered upstreams always use gateways: Consul takes an unset (or none) mode as remote.
      consul.mode = agentMode === '' || agentMode === 'none' ? 'remote' : agentMode;
    }
    expect({ case: c.name, consul }).toEqual({ case: c.name, consul: { agentMode: predicted.agentMode, mode: predicted.mode } });
  } finally {
    cluster.consulCli('dc1', ['services', 'deregister', '-id', 'web'], { token });
  }
});

test('dc1\'s mesh gateway is served an SNI filter chain for dc2, and dc2 gateways as endpoints', () => {
  const served = xds('mesh-gateway-dc1', 'mesh-gateway');
  const chains = served.listeners.flatMap((l: any) => l.filterChains);
  const toDc2 = chains.find((fc: any) => (fc.serverNames ?? []).some((n: string) => /^\*\.dc2\.internal\.[0-9a-f-]+\.consul$/.test(n)));
  expect(toDc2).toMatchObject({ filters: ['envoy.filters.network.tcp_proxy'] });
  const dc2 = Object.entries(served.endpoints).find(([name]) => /^dc2\.internal\./.test(name));
  expect(dc2?.[1]).toEqual(['192.0.2.2:8443']);
});

test('destroy removes every entry the stack wrote', async () => {
  // A stack with an entry at every config-entry layer, so the destroy has something to remove.
  const all: ModeCase = {
    name: 'every entry', proxyDefaults: 'local', downstream: 'remote', upstreamDefaults: 'none', upstreamOverride: 'none', destination: 'remote',
    expect: undefined as any,
  };
  const ws = workspaceFor(synthCase(all).json);
  await ws.apply();
  await ws.expectNoChanges();
  expect(await storedEntries()).toEqual(['proxy-defaults/global', 'service-defaults/api', 'service-defaults/web']);

  await ws.destroy();
  expect([...(await ws.state()).keys()]).toEqual([]);
  expect(await storedEntries()).toEqual([]);
});
