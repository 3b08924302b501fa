// explain's answer for upstreams routed by a ServiceResolver (redirect,
// failover), from a sidecar and from an ingress gateway, against real Consul:
// each case's stack is applied with real `tofu` (the plan right after must
// be empty), then, for every row explain gives, the mode of the discovery
// chain's target (compiled as the proxy asks for it: a sidecar with its
// merged upstream mode as override, an ingress gateway with none) and the
// endpoints Consul would serve that proxy's Envoy for the target's cluster
// over xDS (tools/xds): the dc1 gateway's LAN address (local), the dc2
// gateway's WAN address (remote), or the instance itself (none, or a target
// in the proxy's own datacenter).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  ConsulVersion, ExistingDatacenter, IngressGateway, MeshGatewayMode, MeshGatewayModeExplanation, MeshGatewayModes, MeshService, ProxyDefaults,
  ResolverTarget, ServiceDefaults, ServiceResolver,
} from '../../lib';
import { ConsulCluster } from '../support/consul-cluster';
import { readXds, registerDefinition, registerGatewaysAndApi, registerService, tearDown } from '../support/mesh-fixtures';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

type Mode = 'local' | 'remote' | 'none';
const consulVersion = ConsulVersion.of(toolVersion('consul'));

interface ResolverCase {
  readonly name: string;
  readonly proxyDefaults?: Mode;
  /** service-defaults MeshGateway per service (api, api-v2). */
  readonly serviceDefaults?: Record<string, Mode>;
  readonly redirect?: ResolverTarget;
  readonly failover?: ResolverTarget[];
  /** The mode on web's upstream to api. */
  readonly upstream?: Mode;
  /** What explain must say, row by row: [proxy kind, target service, target, via, mode]. */
  readonly expect: [string, string, string, string, string][];
}

const CASES: ResolverCase[] = [
  {
    name: 'redirect to dc2, nothing set',
    redirect: { datacenter: 'dc2' },
    expect: [['sidecar', 'api', 'dc2', 'redirect', 'none'], ['ingress-gateway', 'api', 'dc2', 'redirect', 'none']],
  },
  {
    name: 'redirect to dc2, proxy-defaults remote',
    proxyDefaults: 'remote', redirect: { datacenter: 'dc2' },
    expect: [['sidecar', 'api', 'dc2', 'redirect', 'remote'], ['ingress-gateway', 'api', 'dc2', 'redirect', 'remote']],
  },
  {
    name: 'redirect to dc2: the target\'s service-defaults beat proxy-defaults for the ingress gateway, not for the sidecar',
    proxyDefaults: 'remote', serviceDefaults: { api: 'local' }, redirect: { datacenter: 'dc2' },
    expect: [['sidecar', 'api', 'dc2', 'redirect', 'remote'], ['ingress-gateway', 'api', 'dc2', 'redirect', 'local']],
  },
  {
    name: 'redirect to another service in dc2: its service-defaults count, not the upstream\'s',
    serviceDefaults: { 'api': 'remote', 'api-v2': 'local' }, redirect: { service: 'api-v2', datacenter: 'dc2' },
    expect: [['sidecar', 'api-v2', 'dc2', 'redirect', 'local'], ['ingress-gateway', 'api-v2', 'dc2', 'redirect', 'local']],
  },
  {
    name: 'failover to dc2 under proxy-defaults local',
    proxyDefaults: 'local', failover: [{ datacenter: 'dc2' }],
    expect: [
      ['sidecar', 'api', 'dc1', '', 'local'], ['sidecar', 'api', 'dc2', 'failover', 'local'],
      ['ingress-gateway', 'api', 'dc1', '', 'local'], ['ingress-gateway', 'api', 'dc2', 'failover', 'local'],
    ],
  },
  {
    name: 'failover to another service, then dc2, with the upstream in remote',
    upstream: 'remote', failover: [{ service: 'api-v2' }, { datacenter: 'dc2' }],
    expect: [
      ['sidecar', 'api', 'dc1', '', 'remote'], ['sidecar', 'api-v2', 'dc1', 'failover', 'remote'], ['sidecar', 'api', 'dc2', 'failover', 'remote'],
      ['ingress-gateway', 'api', 'dc1', '', 'none'], ['ingress-gateway', 'api-v2', 'dc1', 'failover', 'none'], ['ingress-gateway', 'api', 'dc2', 'failover', 'none'],
    ],
  },
];

/** The instances registered below, by service and datacenter: their sidecars' addresses. */
const INSTANCE: Record<string, Record<string, string>> = {
  'api': { dc1: '10.0.1.7:21000', dc2: '10.0.2.7:21000' },
  'api-v2': { dc1: '10.0.1.8:21001', dc2: '10.0.2.8:21001' },
};
const GATEWAY_BY_MODE: Record<string, string> = { local: '10.0.1.5:8443', remote: '192.0.2.2:8443' };

/** Where Envoy sends a target's traffic, as the row predicts it. */
function expectedEndpoint(row: MeshGatewayModeExplanation): string {
  if (!row.crossesDatacenter || row.mode === 'none') return INSTANCE[row.targetService][row.target];
  return GATEWAY_BY_MODE[row.mode];
}

let cluster: ConsulCluster;
let workspace: TerraformWorkspace | undefined;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'resolvers-'));
const api = (method: string, urlPath: string, body?: unknown) => cluster.api('dc1', method, urlPath, body, cluster.managementToken);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const xds = (proxyId: string, service: string) => readXds(cluster, proxyId, service, consulVersion);

/** The endpoints served for the target's cluster (`api.default.dc2...`, or `failover-target~api.default.dc2...`). */
function servedFor(served: { endpoints: Record<string, string[]> }, row: MeshGatewayModeExplanation): string[][] {
  const pattern = new RegExp(`(^|~)${row.targetService.replace(/-/g, '\\-')}\\.default\\.${row.target}\\.`);
  return Object.entries(served.endpoints).filter(([name]) => pattern.test(name)).map(([, endpoints]) => endpoints);
}

function synthCase(c: ResolverCase) {
  const stack = new TerraformStack(Testing.app(), 'resolvers');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dc1 = new ExistingDatacenter(stack, 'dc1', { name: 'dc1', address: cluster.dc1.httpAddr, token: token.stringValue, consulVersion });
  const mode = (m?: Mode) => (m ? MeshGatewayMode.of(stack, m) : undefined);
  if (c.proxyDefaults) new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc1, meshGatewayMode: mode(c.proxyDefaults) });
  for (const [service, m] of Object.entries(c.serviceDefaults ?? {})) {
    new ServiceDefaults(stack, `${service}-defaults`, { datacenter: dc1, service, meshGatewayMode: mode(m) });
  }
  new ServiceResolver(stack, 'api-resolver', { datacenter: dc1, service: 'api', redirect: c.redirect, failover: c.failover });
  // The process is the harness's (registered below): the construct writes the entry, policy and token.
  new IngressGateway(stack, 'ingress', { datacenter: dc1, listeners: [{ port: 9000, services: [{ name: 'api' }] }] });
  const web = new MeshService(stack, 'web', {
    datacenter: dc1, service: 'web', port: 8080, upstreams: [{ service: 'api', localBindPort: 9191, meshGatewayMode: mode(c.upstream) }],
  });
  return { json: JSON.parse(Testing.synth(stack, true)), web, rows: MeshGatewayModes.explain(stack) };
}

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
  await cluster.waitForLeaders();
  await registerGatewaysAndApi(cluster, ['dc1', 'dc2']);
  for (const [dc, n] of [['dc1', 1], ['dc2', 2]] as const) {
    await registerService(cluster, dc, { Name: 'api-v2', ID: 'api-v2', Address: `10.0.${n}.8`, Port: 8080, Connect: { SidecarService: { Port: 21001 } } });
  }
  await registerService(cluster, 'dc1', { Kind: 'ingress-gateway', Name: 'ingress-gateway', ID: 'ingress-gateway', Address: '10.0.1.9', Port: 8888 });
}, 120_000);

// The last test destroys; this only covers a run that stopped before it.
afterAll(() => tearDown(cluster, workspace, work));

test.each(CASES.map((c) => [c.name, c]))('%s: explain agrees with the chain and with what Envoy would be served', async (_name, c) => {
  const { json, web, rows } = synthCase(c);
  expect(rows.map((r) => [r.proxyKind, r.targetService, r.target, r.via, r.mode])).toEqual(c.expect);

  if (!workspace) workspace = new TerraformWorkspace(json, { vars: { token: cluster.managementToken }, prefix: 'resolvers-tf-' });
  else workspace.write(json);
  await workspace.apply();
  await workspace.expectNoChanges();

  registerDefinition(cluster, work, web);
  try {
    const sidecar = await api('GET', `/v1/agent/service/${web.sidecarId}`);
    const agentMode: string = sidecar.json.Proxy.Upstreams[0].MeshGateway?.Mode ?? '';
    // Each proxy compiles the chain its own way: the sidecar with its merged mode as override, the ingress gateway with none.
    const chains: Record<string, Record<string, string>> = {};
    for (const [kind, override] of [['sidecar', agentMode], ['ingress-gateway', '']]) {
      const chain = await api('POST', '/v1/discovery-chain/api?compile-dc=dc1', override ? { OverrideMeshGateway: { Mode: override } } : {});
      chains[kind] = Object.fromEntries(Object.values<any>(chain.json.Chain.Targets).map((t) => [`${t.Service}@${t.Datacenter}`, t.MeshGateway?.Mode || 'none']));
    }
    // Consul's proxy state settles within a moment of the entries changing.
    await sleep(1500);
    const served = { 'sidecar': xds(web.sidecarId, 'web'), 'ingress-gateway': xds('ingress-gateway', 'ingress-gateway') };
    for (const row of rows) {
      const key = `${row.proxyKind} ${row.targetService}@${row.target}`;
      expect({ key, agentMode: row.proxyKind === 'sidecar' ? agentMode : '' }).toEqual({ key, agentMode: row.agentMode });
      expect({ key, chain: chains[row.proxyKind][`${row.targetService}@${row.target}`] }).toEqual({ key, chain: row.mode });
      expect({ key, endpoints: servedFor(served[row.proxyKind as 'sidecar'], row) }).toEqual({ key, endpoints: [[expectedEndpoint(row)]] });
    }
  } finally {
    cluster.consulCli('dc1', ['services', 'deregister', '-id', 'web'], { token: cluster.managementToken });
  }
});

test('destroy removes the resolver with everything else', async () => {
  expect(workspace).toBeDefined();
  await workspace!.destroy();
  expect([...(await workspace!.state()).keys()]).toEqual([]);
  expect((await api('GET', '/v1/config/service-resolver')).json ?? []).toEqual([]);
});
