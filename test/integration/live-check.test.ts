// LiveModeCheck against a running cluster: a stack applied with real `tofu`,
// its sidecar registered, every row matches; then the cluster drifts (an
// entry changed behind Terraform's back) and the check names the row, what
// Consul now does and what was predicted.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  ConsulVersion, ExistingDatacenter, IngressGateway, LiveModeCheck, MeshGatewayMode, MeshService, ProxyDefaults, ServiceDefaults, ServiceResolver,
} from '../../lib';
import { ConsulCluster } from '../support/consul-cluster';
import { registerDefinition, registerGatewaysAndApi, registerService, tearDown } from '../support/mesh-fixtures';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

const consulVersion = ConsulVersion.of(toolVersion('consul'));
let cluster: ConsulCluster;
let workspace: TerraformWorkspace | undefined;
let stack: TerraformStack;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'live-check-'));
const live = () => LiveModeCheck.run(stack, { datacenters: [{ name: 'dc1', address: cluster.dc1.httpAddr, token: cluster.managementToken }] });

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
  await cluster.waitForLeaders();
  await registerGatewaysAndApi(cluster, ['dc1', 'dc2']);
  await registerService(cluster, 'dc1', { Kind: 'ingress-gateway', Name: 'ingress-gateway', ID: 'ingress-gateway', Address: '10.0.1.9', Port: 8888 });

  stack = new TerraformStack(Testing.app(), 'live');
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dc1 = new ExistingDatacenter(stack, 'dc1', { name: 'dc1', address: cluster.dc1.httpAddr, token: token.stringValue, consulVersion });
  new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc1, meshGatewayMode: MeshGatewayMode.local() });
  new ServiceDefaults(stack, 'api-defaults', { datacenter: dc1, service: 'api', meshGatewayMode: MeshGatewayMode.remote() });
  new ServiceResolver(stack, 'api-resolver', { datacenter: dc1, service: 'api', failover: [{ datacenter: 'dc2' }] });
  new IngressGateway(stack, 'ingress', { datacenter: dc1, listeners: [{ port: 9000, services: [{ name: 'api' }] }] });
  const web = new MeshService(stack, 'web', { datacenter: dc1, service: 'web', port: 8080, upstreams: [{ service: 'api', localBindPort: 9191 }] });
  // A service whose sidecar is registered nowhere: reported, not failed.
  new MeshService(stack, 'orders', { datacenter: dc1, service: 'orders', port: 8080, upstreams: [{ service: 'api', datacenter: 'dc2', localBindPort: 9191 }] });

  workspace = new TerraformWorkspace(Testing.synth(stack, true), { vars: { token: cluster.managementToken }, prefix: 'live-check-tf-' });
  await workspace.apply();
  await workspace.expectNoChanges();
  registerDefinition(cluster, work, web);
}, 180_000);

afterAll(() => tearDown(cluster, workspace, work));

test('every row of the applied stack matches what Consul serves, and an unregistered sidecar is reported as unchecked', async () => {
  const rows = await live();
  expect(rows.map((r) => [r.predicted.proxyKind, r.predicted.service, r.predicted.targetService, r.predicted.target, r.predicted.mode, r.status])).toEqual([
    ['sidecar', 'web', 'api', 'dc1', 'local', 'match'],
    ['sidecar', 'web', 'api', 'dc2', 'local', 'match'],
    ['sidecar', 'orders', 'api', 'dc2', 'local', 'unchecked'],
    ['ingress-gateway', 'ingress-gateway', 'api', 'dc1', 'remote', 'match'],
    ['ingress-gateway', 'ingress-gateway', 'api', 'dc2', 'remote', 'match'],
  ]);
  expect(rows[2].detail).toBe(`orders-sidecar-proxy (upstream "api") is not registered with the agent at ${cluster.dc1.httpAddr}`);
  expect(rows.filter((r) => r.status === 'match').map((r) => r.agentMode)).toEqual(['local', 'local', '', '']);
  const table = LiveModeCheck.renderTable(rows);
  expect(table).toContain('ingress-gateway (ingress)  dc1  api       dc2 (failover)  remote     remote  dc2\'s');
});

test('drift behind Terraform\'s back is named row by row', async () => {
  const r = await cluster.api('dc1', 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'api', MeshGateway: { Mode: 'none' } }, cluster.managementToken);
  expect(r.status).toBe(200);
  const rows = await live();
  const differing = rows.filter((row) => row.status === 'differs');
  expect(differing.map((row) => [row.predicted.service, row.predicted.target, row.detail])).toEqual([
    ['ingress-gateway', 'dc1', 'chain mode "none", predicted "remote"'],
    ['ingress-gateway', 'dc2', 'chain mode "none", predicted "remote"'],
  ]);
  // The sidecars' merged mode (proxy-defaults local) still decides theirs.
  expect(rows.filter((row) => row.predicted.proxyKind === 'sidecar' && row.status !== 'unchecked').every((row) => row.status === 'match')).toBe(true);
});
