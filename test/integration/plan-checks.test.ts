// Values that arrive as references are checked by real OpenTofu at plan
// time: a bad one fails `tofu plan` naming the construct, before anything
// changes; good ones plan. No Consul is contacted: nothing is read at plan.
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { ExistingDatacenter, MeshGateway } from '../../lib';
import { TerraformWorkspace } from '../support/terraform';

const app = Testing.app();
const stack = new TerraformStack(app, 'refs');
const variable = (name: string, type: string) => new TerraformVariable(stack, name, { type });
const dc = new ExistingDatacenter(stack, 'dc', {
  name: 'dc1',
  address: variable('consul_address', 'string').stringValue,
  token: new TerraformVariable(stack, 'token', { type: 'string', sensitive: true }).stringValue,
});
new MeshGateway(stack, 'gw', { datacenter: dc, port: variable('gw_port', 'number').numberValue });
const workspace = new TerraformWorkspace(Testing.synth(stack, true), { prefix: 'plan-checks-tf-' });
afterAll(() => workspace.remove());

async function plan(vars: Record<string, string>) {
  const all = { consul_address: '127.0.0.1:8500', token: '00000000-0000-0000-0000-000000000000', gw_port: '8443', ...vars };
  await workspace.init();
  const r = await workspace.run(['plan', '-input=false', '-no-color', ...Object.entries(all).flatMap(([k, v]) => ['-var', `${k}=${v}`])]);
  return { code: r.code, out: (r.stdout + r.stderr).replace(/\s+/g, ' ') };
}

test('good values plan', async () => {
  const r = await plan({ consul_address: '[::1]:8500' });
  expect(r.out).toMatch(/Plan: 4 to add, 0 to change, 0 to destroy/);
  expect(r.code).toBe(0);
});

test.each([
  ['an address without a port', { consul_address: 'consul.internal' }, 'refs/dc: address must be host:port of the HTTP API.'],
  ['an address with a scheme', { consul_address: 'http://consul:8500' }, 'refs/dc: address must be host:port of the HTTP API.'],
  ['an address with port 0', { consul_address: 'consul:0' }, 'refs/dc: address must be host:port of the HTTP API.'],
  ['a port out of range', { gw_port: '70000' }, 'refs/gw: port must be a TCP port (an integer from 1 to 65535).'],
  ['a fractional port', { gw_port: '8443.5' }, 'refs/gw: port must be a TCP port (an integer from 1 to 65535).'],
  ['Envoy\'s admin port', { gw_port: '19000' }, 'refs/gw: port must not be 19000, Envoy\'s admin port in the same process.'],
])('%s fails the plan, naming the construct', async (_name, vars, message) => {
  const r = await plan(vars);
  expect(r.code).toBe(1);
  expect(r.out).toContain('Resource precondition failed');
  expect(r.out).toContain(message);
});
