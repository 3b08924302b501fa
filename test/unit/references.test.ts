// Ports and addresses that arrive as Terraform references (a variable, an
// attribute) are not rejected at synth: they are checked at plan time.
import { TerraformVariable } from 'cdktf';
import { DockerDatacenter, ExistingDatacenter, MeshGateway, MeshService, TerminatingGateway } from '../../lib';
import { newStack, resourceAt, synthJson } from '../support/synth';

function numberVariable(stack: ReturnType<typeof newStack>, name: string): number {
  return new TerraformVariable(stack, name, { type: 'number' }).numberValue;
}

test('a Docker datacenter\'s httpPort from a variable reaches the provider and the container, checked at plan', () => {
  const stack = newStack();
  new DockerDatacenter(stack, 'dc', { name: 'dc1', httpPort: numberVariable(stack, 'api_port') });
  const json = synthJson(stack);
  expect(json.provider.consul[0].address).toBe('127.0.0.1:${var.api_port}');
  expect(resourceAt(json, 'docker_container', 'dc/Server0/Container').ports).toEqual([{ internal: 8500, external: '${var.api_port}', ip: '127.0.0.1' }]);
  expect(resourceAt(json, 'terraform_data', 'dc/PlanChecks').lifecycle.precondition).toEqual([{
    condition: '${(((var.api_port >= 1) && (var.api_port <= 65535)) && (floor(var.api_port) == var.api_port))}',
    error_message: 'test/dc: httpPort must be a TCP port (an integer from 1 to 65535).',
  }]);
});

test('a gateway port from a variable is interpolated into its registration, and checked at plan', () => {
  const stack = newStack();
  const dc = new DockerDatacenter(stack, 'dc', { name: 'dc1' });
  new MeshGateway(stack, 'gw', { datacenter: dc, port: numberVariable(stack, 'gw_port') });
  const json = synthJson(stack);
  const command: string = resourceAt(json, 'docker_container', 'gw/Replica0/Registration').command[0];
  expect(command).toContain('-address 10.249.1.11:${var.gw_port}');
  expect(command).toContain('-bind-address default=0.0.0.0:${var.gw_port}');
  expect(resourceAt(json, 'terraform_data', 'gw/PlanChecks').lifecycle.precondition.map((p: { condition: string }) => p.condition)).toEqual([
    '${(((var.gw_port >= 1) && (var.gw_port <= 65535)) && (floor(var.gw_port) == var.gw_port))}',
    '${(var.gw_port != 19000)}',
  ]);
});

test('an existing datacenter\'s address from a variable reaches the provider, checked at plan', () => {
  const stack = newStack();
  const address = new TerraformVariable(stack, 'consul_address', { type: 'string' }).stringValue;
  new ExistingDatacenter(stack, 'dc', { name: 'dc1', address });
  const json = synthJson(stack);
  expect(json.provider.consul[0].address).toBe('${var.consul_address}');
  const [check] = resourceAt(json, 'terraform_data', 'dc/PlanChecks').lifecycle.precondition;
  expect(check.condition).toMatch(/^\$\{can\(regex\(".*", var\.consul_address\)\)\}$/);
  expect(check.error_message).toBe('test/dc: address must be host:port of the HTTP API. Use e.g. "127.0.0.1:8500" or "[::1]:8500" (no scheme: set `scheme`).');
});

test('a linked service\'s port from a variable reaches its catalog registration', () => {
  const stack = newStack();
  const dc = new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: '127.0.0.1:8500' });
  new TerminatingGateway(stack, 'tg', { datacenter: dc, services: [{ service: 'billing', address: '10.0.0.9', port: numberVariable(stack, 'billing_port') }] });
  const json = synthJson(stack);
  expect(resourceAt(json, 'consul_service', 'tg/billing/Service').port).toBe('${var.billing_port}');
  expect(resourceAt(json, 'terraform_data', 'tg/PlanChecks').lifecycle.precondition).toHaveLength(1);
});

test('literal values add no plan-time checks', () => {
  const stack = newStack();
  const dc = new DockerDatacenter(stack, 'dc', { name: 'dc1' });
  new MeshGateway(stack, 'gw', { datacenter: dc });
  // Only the refusal of a shrink that loses the quorum, which reads the deployed count from the stack's state.
  expect(Object.keys(synthJson(stack).resource.terraform_data)).toEqual([expect.stringMatching(/^dc_ServerRemovalGuard_PlanChecks_/)]);
});

test('a service port from a variable is refused: it is written into the agent definition at synth', () => {
  const stack = newStack();
  const dc = new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: '127.0.0.1:8500' });
  expect(() => new MeshService(stack, 'web', { datacenter: dc, service: 'web', port: numberVariable(stack, 'web_port') }))
    .toThrow(/^test\/web: port is written into JSON at synth, so it must be a number, not a Terraform reference \(got: "<reference>"\)\. Pass the port as a number\./);
});
