// The runtime seam (lib/datacenter/runtime.ts): gateways and peering reach a
// datacenter's processes only through its runtime, so a runtime that is not
// Docker plugs in without touching them; and no generic folder imports the
// Docker runtime's code.
import * as fs from 'fs';
import * as path from 'path';
import { DataResource, TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';
import { ClusterPeering, ExistingDatacenter, ExistingDatacenterProps, IngressGateway, Protocol } from '../../lib';
import { DatacenterRuntime, GatewayProcesses, GatewayProcessSpec } from '../../lib/datacenter/runtime';

/** A runtime of the test's own: each replica is a `terraform_data` standing in for a VM's agent registering it. */
class RecordingRuntime implements DatacenterRuntime {
  public readonly runsGateways = true;
  public readonly meshGatewayFederation = false;
  public readonly specs: GatewayProcessSpec[] = [];
  public readonly published: { owner: IConstruct; ports: () => number[] }[] = [];
  public peeringAsked = 0;

  constructor(private readonly host: string) {}

  public runGateway(gateway: Construct, spec: GatewayProcessSpec): GatewayProcesses {
    this.specs.push(spec);
    const replicas = Array.from({ length: spec.replicas }, (_, r) => ({
      proxyId: `${spec.service}-${r}`,
      lanAddress: `${this.host}:${spec.port}`,
      wanAddress: spec.kind === 'mesh' ? `${this.host}:${spec.port + r}` : undefined,
      registration: new DataResource(gateway, `Vm${r}`, { input: { service: spec.service } }),
    }));
    return { replicas, publishOnHost: (owner, ports) => { this.published.push({ owner, ports }); } };
  }

  public directPeeringAddresses(): string[] {
    this.peeringAsked += 1;
    return [`${this.host}:8503`];
  }
}

class VmDatacenter extends ExistingDatacenter {
  public readonly recorder: RecordingRuntime;
  constructor(scope: Construct, id: string, props: ExistingDatacenterProps & { host: string }) {
    super(scope, id, props);
    this.recorder = new RecordingRuntime(props.host);
  }

  /** @internal */
  public get _runtime(): DatacenterRuntime {
    return this.recorder;
  }
}

const dc = (stack: TerraformStack, name: string, host: string) =>
  new VmDatacenter(stack, name, { name, address: `${host}:8500`, host, directlyRoutable: false });

describe('a runtime other than Docker', () => {
  test('runs the gateways the generic constructs declare, and their registrations order the peering', () => {
    const stack = newStack();
    const east = dc(stack, 'east', '192.0.2.10');
    const west = dc(stack, 'west', '192.0.2.20');
    const gateway = east.addMeshGateway('gateway', { peering: true, replicas: 2, port: 9443 });
    west.addMeshGateway('gateway', { peering: true });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west });
    const json = synthJson(stack);

    expect(east.recorder.specs).toEqual([expect.objectContaining({ kind: 'mesh', service: 'mesh-gateway', replicas: 2, port: 9443, exposeServers: false, startEnvoy: true })]);
    expect(gateway.wanAddresses).toEqual(['192.0.2.10:9443', '192.0.2.10:9444']);
    expect(gateway.registrations).toHaveLength(2);
    // The token waits for what the runtime said registers the acceptor's gateway.
    expect(resourceAt(json, 'consul_peering_token', 'peering/Token').depends_on).toEqual(expect.arrayContaining([
      addressOf(json, 'terraform_data', 'east/gateway/Vm0'), addressOf(json, 'terraform_data', 'east/gateway/Vm1'),
    ]));
  });

  test('is asked for direct peering addresses, dialer first, when both sides offer them', () => {
    const stack = newStack();
    const east = dc(stack, 'east', '192.0.2.10');
    const west = dc(stack, 'west', '192.0.2.20');
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: west, throughMeshGateways: false });
    expect(resourceAt(synthJson(stack), 'consul_peering_token', 'peering/Token').server_external_addresses).toEqual(['192.0.2.10:8503']);
    expect([east.recorder.peeringAsked, west.recorder.peeringAsked]).toEqual([1, 1]);
  });

  test('a runtime that runs gateways needs one declared for peering through them; the operator\'s does not', () => {
    const stack = newStack();
    const east = dc(stack, 'east', '192.0.2.10');
    const operated = new ExistingDatacenter(stack, 'west', { name: 'west', address: '192.0.2.20:8500' });
    new ClusterPeering(stack, 'peering', { acceptor: east, dialer: operated });
    expect(() => synthJson(stack)).toThrow(/peering through mesh gateways needs a mesh gateway in "east", which has none/);
    expect(() => synthJson(stack)).not.toThrow(/in "west"/);
  });

  test('is handed the ingress listeners to publish, read once the tree is complete', () => {
    const stack = newStack();
    const east = dc(stack, 'east', '192.0.2.10');
    const ingress = new IngressGateway(stack, 'ingress', { datacenter: east });
    ingress.addListener({ port: 8080, protocol: Protocol.TCP, services: [{ name: 'web' }] });
    expect(east.recorder.published.map((p) => [p.owner, p.ports()])).toEqual([[ingress, [8080]]]);
  });
});

describe('the layout', () => {
  const lib = path.resolve(__dirname, '..', '..', 'lib');
  const generic = ['config-entries', 'datacenter', 'gateways', 'internal', 'modes', 'peering', 'services'];

  test('no generic folder imports the Docker runtime', () => {
    const offenders: string[] = [];
    for (const folder of generic) {
      for (const file of fs.readdirSync(path.join(lib, folder)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
        const source = fs.readFileSync(path.join(lib, folder, file), 'utf8');
        for (const [, spec] of source.matchAll(/from '([^']+)'/g)) {
          const target = path.resolve(lib, folder, spec);
          if (spec.startsWith('.') && target.startsWith(path.join(lib, 'docker'))) offenders.push(`lib/${folder}/${file} → ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
