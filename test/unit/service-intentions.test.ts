import { TerraformStack } from 'cdktf';
import { attempt } from '../support/attempt';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';
import { ConsulFederation, DockerDatacenter, IntentionAction, ServiceIntentions } from '../../lib';

function federated() {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  return { stack, fed };
}

const bodyOf = (json: any, path: string) => JSON.parse(resourceAt(json, 'consul_config_entry', path).config_json);

describe('IntentionAction', () => {
  test('spells each action as Consul stores it', () => {
    expect([IntentionAction.allow().value, IntentionAction.deny().value]).toEqual(['allow', 'deny']);
  });
});

describe('ServiceIntentions', () => {
  test('renders every source with the Precedence and Type Consul fills in, highest precedence first', () => {
    const { stack, fed } = federated();
    new ServiceIntentions(stack, 'api', {
      datacenter: fed.primary,
      destination: 'api',
      sources: [
        { name: '*', action: IntentionAction.deny() },
        { name: 'web', action: IntentionAction.allow(), description: 'storefront' },
        { name: 'reports', peer: 'west', action: IntentionAction.allow() },
        { name: '*', peer: 'west', action: IntentionAction.deny() },
      ],
    });
    const json = synthJson(stack);
    expect(resourceAt(json, 'consul_config_entry', 'api')).toMatchObject({ kind: 'service-intentions', name: 'api', provider: 'consul.dc1' });
    expect(bodyOf(json, 'api')).toEqual({
      Sources: [
        { Name: 'web', Action: 'allow', Precedence: 9, Type: 'consul', Description: 'storefront' },
        { Name: 'reports', Peer: 'west', Action: 'allow', Precedence: 9, Type: 'consul' },
        { Name: '*', Action: 'deny', Precedence: 8, Type: 'consul' },
        { Name: '*', Peer: 'west', Action: 'deny', Precedence: 8, Type: 'consul' },
      ],
    });
  });

  test('a wildcard destination lowers every precedence, and namespaces count (Enterprise)', () => {
    const { stack, fed } = federated();
    new ServiceIntentions(stack, 'all', {
      datacenter: fed.primary,
      destination: '*',
      sources: [
        { name: '*', namespace: '*', action: IntentionAction.deny() },
        { name: '*', action: IntentionAction.deny() },
        { name: 'web', namespace: 'frontend', action: IntentionAction.allow() },
      ],
    });
    expect(bodyOf(synthJson(stack), 'all').Sources.map((s: any) => [s.Name, s.Namespace, s.Precedence])).toEqual([
      ['web', 'frontend', 6], ['*', undefined, 5], ['*', '*', 4],
    ]);
  });

  test('addSource() after construction lands in the entry and returns the source as stored', () => {
    const { stack, fed } = federated();
    const intentions = new ServiceIntentions(stack, 'api', { datacenter: fed.datacenter('dc2'), destination: 'api' });
    const added = intentions.addSource({ name: 'web', action: IntentionAction.allow() });
    expect(added).toEqual({ name: 'web', action: IntentionAction.allow() });
    expect(intentions.sources.map((s) => s.name)).toEqual(['web']);
    const json = synthJson(stack);
    // Written in a secondary, config entries go to the primary.
    expect(resourceAt(json, 'consul_config_entry', 'api')).toMatchObject({
      provider: 'consul.dc1', depends_on: [addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade')],
    });
    expect(bodyOf(json, 'api')).toEqual({ Sources: [{ Name: 'web', Action: 'allow', Precedence: 9, Type: 'consul' }] });
  });

  test('of() shares one entry per destination and cluster, across the federation\'s datacenters', () => {
    const { stack, fed } = federated();
    const first = ServiceIntentions.of(fed.primary, 'api');
    first.addSource({ name: 'web', action: IntentionAction.allow() });
    // Paths, not the constructs: a failing toBe would print the whole tree.
    expect(ServiceIntentions.of(fed.datacenter('dc2'), 'api').node.path).toBe(first.node.path);
    expect(ServiceIntentions.of(fed.primary, 'billing').node.path).toBe('test/fed/dc1/Intentions-billing');
    ServiceIntentions.of(fed.primary, 'billing').addSource({ name: 'api', action: IntentionAction.allow() });
    expect(first.node.path).toBe('test/fed/dc1/Intentions-api');
    expect(bodyOf(synthJson(stack), 'fed/dc1/Intentions-api').Sources).toHaveLength(1);
  });
});

const dc = (stack: TerraformStack) => new DockerDatacenter(stack, 'dc1', { name: 'dc1' });

const cases: [string, (stack: TerraformStack) => void, RegExp[]][] = [
  ['rejects intentions without a source', (stack) => new ServiceIntentions(stack, 'api', { datacenter: dc(stack), destination: 'api' }),
    [/\[bad\/api\] the intentions of "api" have no source, which Consul refuses/, /got: \[\]/, /addSource/]],
  ['rejects the same source twice', (stack) => new ServiceIntentions(stack, 'api', {
    datacenter: dc(stack), destination: 'api',
    sources: [{ name: 'web', action: IntentionAction.allow() }, { name: 'web', action: IntentionAction.deny() }],
  }), [/^bad\/api: source "web" is already in the intentions of "api"/, /got: "deny"/, /it is already allow/]],
  ['rejects a peer name Consul refuses', (stack) => new ServiceIntentions(stack, 'api', {
    datacenter: dc(stack), destination: 'api', sources: [{ name: 'web', peer: 'West_1', action: IntentionAction.allow() }],
  }), [/^bad\/api: peer of source "web" is not a valid peer name/, /got: "West_1"/, /lowercase letters, digits and dashes/]],
  ['rejects a named service in every namespace', (stack) => new ServiceIntentions(stack, 'api', {
    datacenter: dc(stack), destination: 'api', sources: [{ name: 'web', namespace: '*', action: IntentionAction.allow() }],
  }), [/^bad\/api: a source in every namespace must be every service too/, /got: "web"/, /name "\*" with namespace "\*"/]],
  ['rejects an invalid destination', (stack) => new ServiceIntentions(stack, 'api', { datacenter: dc(stack), destination: 'api/v1' }),
    [/^bad\/api: destination is not a valid service name/, /got: "api\/v1"/, /or "\*" for every service/]],
  // Consul caps a source's Description at 512 bytes (ServiceIntentionsConfigEntry.Validate), counted in UTF-8.
  ['rejects a description over 512 bytes', (stack) => new ServiceIntentions(stack, 'api', {
    datacenter: dc(stack), destination: 'api', sources: [{ name: 'web', action: IntentionAction.allow(), description: 'é'.repeat(257) }],
  }), [/^bad\/api: the description of source "web" is longer than the 512 bytes Consul stores/, /got: 514/, /Shorten it to at most 512 bytes \(UTF-8\)/]],
  ['rejects two entries for one destination in one cluster', (stack) => {
    const d = dc(stack);
    new ServiceIntentions(stack, 'first', { datacenter: d, destination: 'api', sources: [{ name: 'web', action: IntentionAction.allow() }] });
    new ServiceIntentions(stack, 'second', { datacenter: d, destination: 'api', sources: [{ name: 'cron', action: IntentionAction.allow() }] });
  }, [/^bad\/second: the service-intentions entry "api" of cluster "dc1" is already declared at bad\/first/, /got: "api"/,
    /declare each one once.*ServiceIntentions.of\(datacenter, destination\)/]],
];

describe('ServiceIntentions bad input', () => {
  test.each(cases)('%s, naming the path, the value and the fix, and writes no stack', (_name, build, expected) => {
    const { error, written } = attempt(build);
    for (const pattern of expected) expect(error).toMatch(pattern);
    expect(written).toEqual([]);
  });

  test('intentions with a source write their stack', () => {
    const { error, written } = attempt((stack) => ServiceIntentions.of(dc(stack), 'api').addSource({ name: 'web', action: IntentionAction.allow() }));
    expect(error).toBe('');
    expect(written).toEqual(['bad']);
  });
});
