// Closed sets of Consul values are enums; each renders as Consul spells it.
import { ApiScheme, DockerDatacenter, ExistingDatacenter, LogLevel, Protocol, ProxyDefaults, ServiceDefaults } from '../../lib';
import { newStack, resourceAt, synthJson } from '../support/synth';

function serverConfig(json: Record<string, any>, path: string): Record<string, unknown> {
  return JSON.parse(resourceAt(json, 'docker_container', path).upload[0].content);
}

test('a log level renders into the agent config as given', () => {
  const stack = newStack();
  new DockerDatacenter(stack, 'dc', { name: 'dc1', logLevel: LogLevel.DEBUG });
  expect(serverConfig(synthJson(stack), 'dc/Server0/Container').log_level).toBe('DEBUG');
});

test('a log level from JavaScript in lower case is accepted as Consul accepts it', () => {
  const stack = newStack();
  new DockerDatacenter(stack, 'dc', { name: 'dc1', logLevel: 'warn' as unknown as LogLevel });
  expect(serverConfig(synthJson(stack), 'dc/Server0/Container').log_level).toBe('warn');
});

test('protocols render in Consul\'s lowercase spelling', () => {
  const stack = newStack();
  const dc = new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: '127.0.0.1:8500' });
  new ServiceDefaults(stack, 'sd', { datacenter: dc, service: 'api', protocol: Protocol.HTTP2 });
  new ProxyDefaults(stack, 'pd', { datacenter: dc, protocol: Protocol.GRPC });
  const json = synthJson(stack);
  expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'sd/Resource').config_json).Protocol).toBe('http2');
  expect(JSON.parse(resourceAt(json, 'consul_config_entry', 'pd/Resource').config_json).Config).toEqual({ protocol: 'grpc' });
});

test('an https API scheme reaches the provider', () => {
  const stack = newStack();
  new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: 'consul.internal:8501', scheme: ApiScheme.HTTPS, caFile: '/etc/consul/ca.pem' });
  expect(synthJson(stack).provider.consul[0]).toMatchObject({ scheme: 'https', address: 'consul.internal:8501', ca_file: '/etc/consul/ca.pem' });
});
