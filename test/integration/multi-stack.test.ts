// Two stacks of one app applied one after the other with real `tofu`: a
// value of the first (here a terraform_data's output, standing in for a CA
// path another team's stack owns) reaches a config entry body the second
// renders at synth, through the sensitive output and remote state cdktf
// wires between them; Consul stores the value.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformResource, TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulVersion, ExistingDatacenter, TerminatingGateway } from '../../lib';
import { ConsulCluster } from '../support/consul-cluster';
import { TerraformWorkspace } from '../support/terraform';
import { requireTool, toolVersion } from '../support/tools';

let cluster: ConsulCluster;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'multi-stack-'));
const workspaces: TerraformWorkspace[] = [];

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
  await cluster.waitForLeaders();
}, 120_000);

afterAll(async () => {
  // Reverse order: the second stack reads the first's state.
  for (const ws of [...workspaces].reverse()) {
    if ((await ws.stateList()).length > 0) await ws.destroy().catch(() => undefined);
    ws.remove();
  }
  await cluster?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('a value of one stack reaches a body another stack renders, and Consul stores it', async () => {
  const app = new App({ outdir: path.join(work, 'out') });
  const shared = new TerraformStack(app, 'shared');
  new LocalBackend(shared, { path: path.join(work, 'shared.tfstate') });
  const ca = new TerraformResource(shared, 'ca', { terraformResourceType: 'terraform_data' });
  ca.addOverride('input', '/etc/pki/billing-ca.pem');

  const egress = new TerraformStack(app, 'egress');
  new LocalBackend(egress, { path: path.join(work, 'egress.tfstate') });
  const token = new TerraformVariable(egress, 'token', { type: 'string', sensitive: true });
  const dc = new ExistingDatacenter(egress, 'dc1', {
    name: 'dc1', address: cluster.dc1.httpAddr, token: token.stringValue, consulVersion: ConsulVersion.of(toolVersion('consul')),
  });
  const gateway = new TerminatingGateway(egress, 'egress', { datacenter: dc });
  gateway.linkService({ service: 'billing', caFile: ca.getStringAttribute('output'), sni: 'billing.example.com' });
  app.synth();

  const read = (stack: string) => JSON.parse(fs.readFileSync(path.join(work, 'out', 'stacks', stack, 'cdk.tf.json'), 'utf8'));
  const first = new TerraformWorkspace(read('shared'), { prefix: 'multi-stack-shared-' });
  workspaces.push(first);
  await first.apply();
  await first.expectNoChanges();
  const second = new TerraformWorkspace(read('egress'), { vars: { token: cluster.managementToken }, prefix: 'multi-stack-egress-' });
  workspaces.push(second);
  await second.apply();
  await second.expectNoChanges();

  const entry = await cluster.api('dc1', 'GET', '/v1/config/terminating-gateway/terminating-gateway', undefined, cluster.managementToken);
  expect(entry.json.Services).toEqual([{ Name: 'billing', CAFile: '/etc/pki/billing-ca.pem', SNI: 'billing.example.com' }]);
  // The value crossed as a sensitive output: the first stack's outputs never print it.
  const outputs = await first.run(['output', '-no-color']);
  expect(outputs.stdout).toMatch(/= <sensitive>/);
  expect(outputs.stdout).not.toContain('/etc/pki/billing-ca.pem');
}, 5 * 60_000);
