// Config entries that Consul validates against each other, applied at scale
// with real `tofu` onto a real Consul server of the harness: 200 services in
// pairs of one protocol, each with service-defaults and an intention, 20
// resolvers sending one service of a pair to the other, and exports of tcp
// services whose chains fail over (with proxy-defaults and the exports entry:
// 422 resources). Without the order the library gives them
// (lib/config-entries/discovery-chain.ts), OpenTofu writes a resolver beside
// the service-defaults of its chain and Consul refuses one of them ("discovery
// chain ... uses inconsistent protocols"); destroy fails the same way in
// reverse. Here apply, a second apply, plan and destroy all succeed and leave
// Consul exactly as declared, then empty.
import { TerraformStack, Testing } from 'cdktf';
import { ConsulVersion } from '../../lib';
import { ConsulCluster } from '../support/consul-cluster';
import { declareScaleMesh, scaleProtocol, scaleService } from '../support/scale-mesh';
import { synthJson } from '../support/synth';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

const SERVICES = 200;
const consulBin = requireTool('consul');
let cluster: ConsulCluster;
let workspace: TerraformWorkspace | undefined;

const api = (path: string, method = 'GET') => cluster.api('dc1', method, path, undefined, cluster.managementToken);
const entries = async (kind: string): Promise<any[]> => (await api(`/v1/config/${kind}`)).json ?? [];

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin, secondary: false });
  await cluster.waitForLeaders();
}, 120_000);

afterAll(async () => {
  if (workspace && (await workspace.stateList()).length > 0) await workspace.destroy().catch(() => undefined);
  workspace?.remove();
  await cluster?.stop();
});

test('200 services with resolvers and exports: apply, re-apply, plan and destroy with no refusal from Consul', async () => {
  const stack = new TerraformStack(Testing.app(), 'scale');
  const counts = declareScaleMesh(stack, { services: SERVICES, address: cluster.dc1.httpAddr, consulVersion: ConsulVersion.of(toolVersion('consul')) });
  expect(counts).toEqual({ serviceDefaults: 200, intentions: 200, resolvers: 20, exported: 10 });
  workspace = new TerraformWorkspace(synthJson(stack), { vars: { token: cluster.managementToken }, prefix: 'entry-order-tf-' });

  const applied = await workspace.apply();
  expect(applied.stdout).toContain(`Apply complete! Resources: ${200 + 200 + 20 + 1 + 1} added, 0 changed, 0 destroyed.`);
  const again = await workspace.apply();
  expect(again.stdout).toContain('Apply complete! Resources: 0 added, 0 changed, 0 destroyed.');
  await workspace.expectNoChanges();

  const defaults = await entries('service-defaults');
  expect(defaults).toHaveLength(SERVICES);
  for (const entry of defaults) expect(entry.Protocol).toBe(scaleProtocol(Number(entry.Name.slice(3))));
  const resolvers = await entries('service-resolver');
  expect(resolvers.map((r) => r.Name).sort()).toEqual(Array.from({ length: 20 }, (_, k) => scaleService(k * 10)).sort());
  // Each chain compiles, and uses its pair's one protocol.
  for (const r of resolvers) {
    const chain = (await api(`/v1/discovery-chain/${r.Name}`)).json.Chain;
    expect(chain.Protocol).toBe(scaleProtocol(Number(r.Name.slice(3))));
  }
  expect((await api('/v1/config/exported-services/default')).json.Services).toHaveLength(10);
  expect(await entries('service-intentions')).toHaveLength(SERVICES);

  const destroyed = await workspace.destroy();
  expect(destroyed.stdout).toContain(`Destroy complete! Resources: ${200 + 200 + 20 + 1 + 1} destroyed.`);
  for (const kind of ['service-defaults', 'service-resolver', 'service-intentions', 'proxy-defaults', 'exported-services']) {
    expect(await entries(kind)).toEqual([]);
  }
}, 600_000);
