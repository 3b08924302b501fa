// A secondary shares its primary's provider only where that provider is configured just as its own global one would
// be: the same stack, address, scheme, token and CA. Reached through DatacenterBase itself: the library's datacenters
// give a secondary a primary only in a ConsulFederation, whose datacenters always agree on all of these.
import { Construct } from 'constructs';
import { ConsulVersion } from '../../lib';
import { DatacenterApi, DatacenterBase } from '../../lib/datacenter/datacenter-base';
import { ITerraformDependable } from '../../lib/internal/tf';
import { newStack, synthJson } from '../support/synth';

class Probe extends DatacenterBase {
  public readonly readiness: ITerraformDependable[] = [];
  constructor(scope: Construct, name: string, api: DatacenterApi, primary?: DatacenterBase) {
    super(scope, name);
    this._settle({ name, primaryDatacenter: 'dc1', cluster: 'dc1', connectEnabled: true, consulVersion: ConsulVersion.V1_19_2, directlyRoutable: true });
    this._connect(api, api, primary);
  }
}

const API: DatacenterApi = { address: '127.0.0.1:8500', scheme: 'https', token: '${var.token}', caPem: '${var.ca}' };

describe('a secondary\'s global provider', () => {
  test('is its primary\'s where that one is configured alike in the same stack', () => {
    const stack = newStack();
    const dc1 = new Probe(stack, 'dc1', API);
    const dc2 = new Probe(stack, 'dc2', API, dc1);
    expect(dc2.globalProvider).toBe(dc1.provider);
    expect(synthJson(stack).provider.consul.map((p: any) => p.alias)).toEqual(['dc1', 'dc2']);
  });

  test.each<[string, Partial<DatacenterApi>]>([
    ['address', { address: '127.0.0.1:8600' }],
    ['scheme', { scheme: 'http' }],
    ['token', { token: '${var.other}' }],
    ['CA', { caPem: undefined, caFile: '/etc/consul/ca.pem' }],
  ])('is a copy of its own when the %s differs', (_what, change) => {
    const stack = newStack();
    const dc1 = new Probe(stack, 'dc1', API);
    const dc2 = new Probe(stack, 'dc2', { ...API, ...change }, dc1);
    expect(dc2.globalProvider).not.toBe(dc1.provider);
    const global = synthJson(stack).provider.consul.find((p: any) => p.alias === 'dc2-global');
    expect(global).toMatchObject({ datacenter: 'dc1', ...change.address ? { address: change.address } : {} });
  });

  test('is a copy of its own when the primary is in another stack', () => {
    const stack = newStack();
    const dc1 = new Probe(stack, 'dc1', API);
    const other = newStack();
    const dc2 = new Probe(other, 'dc2', API, dc1);
    expect(dc2.globalProvider).not.toBe(dc1.provider);
    expect(synthJson(other).provider.consul.map((p: any) => p.alias)).toEqual(['dc2', 'dc2-global']);
  });
});
