import { TerraformVariable } from 'cdktf';
import {
  ConsulFederation, ConsulVersion, DockerDatacenter, ExistingDatacenter, IngressGateway, MeshGatewayMode, ProxyDefaults, ServiceDefaults,
} from '../../lib';
import { newStack, resourceAt, resourcesOf, synthJson } from '../support/synth';

const existing = (stack: ReturnType<typeof newStack>, consulVersion?: ConsulVersion) => {
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  return new ExistingDatacenter(stack, 'east', { name: 'east', address: '127.0.0.1:8500', token: token.stringValue, consulVersion });
};

describe('ConsulVersion', () => {
  test('parses MAJOR.MINOR[.PATCH] with or without a v, and orders versions', () => {
    expect(ConsulVersion.of('1.14.11').toString()).toBe('1.14.11');
    expect(ConsulVersion.of('v1.19').toString()).toBe('1.19.0');
    expect(ConsulVersion.of('1.15.0').atLeast(ConsulVersion.V1_14_11)).toBe(true);
    expect(ConsulVersion.V1_14_11.atLeast(ConsulVersion.of('1.15.0'))).toBe(false);
    expect(ConsulVersion.of('1.14.2').compare(ConsulVersion.of('1.14.11'))).toBeLessThan(0);
  });

  test('rejects text that is not a version, naming the value and the form', () => {
    expect(() => ConsulVersion.of('latest')).toThrow('Consul version must be MAJOR.MINOR[.PATCH] (got: "latest"). Use e.g. ConsulVersion.of("1.19.2").');
  });

  test('reads the version an image tag names, and nothing from a tag that names none', () => {
    expect(ConsulVersion.fromImage('hashicorp/consul:1.19.2')?.toString()).toBe('1.19.2');
    expect(ConsulVersion.fromImage('registry.local:5000/consul:1.14.11-ent')?.toString()).toBe('1.14.11');
    expect(ConsulVersion.fromImage('hashicorp/consul:latest')).toBeUndefined();
    expect(ConsulVersion.fromImage('registry.local:5000/consul')).toBeUndefined();
  });

  test('picks the Envoy line each Consul version supports', () => {
    expect(ConsulVersion.V1_14_11.defaultEnvoyImage).toBe('envoyproxy/envoy:v1.24.12');
    expect(ConsulVersion.V1_19_2.defaultEnvoyImage).toBe('envoyproxy/envoy:v1.29.12');
  });
});

describe('a datacenter\'s Consul version', () => {
  test('comes from the image tag, else from the default image, unless set', () => {
    const stack = newStack();
    expect(new DockerDatacenter(stack, 'a', { name: 'a', httpPort: 8500, image: 'local/consul:1.14.11' }).consulVersion.toString()).toBe('1.14.11');
    expect(new DockerDatacenter(stack, 'b', { name: 'b', httpPort: 8501 }).consulVersion.toString()).toBe('1.19.2');
    expect(new DockerDatacenter(stack, 'c', { name: 'c', httpPort: 8502, image: 'local/consul:dev', consulVersion: ConsulVersion.of('1.16.1') })
      .consulVersion.toString()).toBe('1.16.1');
    // A declared version the tag agrees with is fine.
    expect(new DockerDatacenter(stack, 'd', { name: 'd', httpPort: 8503, image: 'local/consul:1.14.11', consulVersion: ConsulVersion.of('1.14.11') })
      .consulVersion.toString()).toBe('1.14.11');
    expect(existing(stack).consulVersion.toString()).toBe('1.19.2');
  });

  test('a federation passes its image\'s version to every datacenter', () => {
    const fed = new ConsulFederation(newStack(), 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], image: 'local/consul:1.14.11' });
    expect(fed.datacenters.map((dc) => dc.consulVersion.toString())).toEqual(['1.14.11', '1.14.11']);
  });

  test('rejects a declared version that another one in the image tag contradicts, naming the secondary that carries it', () => {
    expect(() => new ConsulFederation(newStack(), 'fed', {
      primary: { name: 'dc1' },
      secondaries: [{ name: 'dc2', image: 'local/consul:1.19.2', consulVersion: ConsulVersion.of('1.14.11') }],
    })).toThrow('test/fed/dc2: consulVersion 1.14.11 contradicts the image, whose tag names Consul 1.19.2 '
      + '(got: {"image":"local/consul:1.19.2","consulVersion":"1.14.11"}). Drop consulVersion (the tag decides), or use an image of Consul 1.14.11.');
  });

  test('rejects a version older than the library supports, naming the oldest', () => {
    expect(() => existing(newStack(), ConsulVersion.of('1.13.9'))).toThrow(
      'test/east: Consul 1.13.9 is older than the oldest version the library supports (1.14.0) (got: "1.13.9"). Use Consul 1.14.0 or newer.');
  });
});

describe('gates', () => {
  const proxyDefaultsBody = (version: ConsulVersion) => {
    const stack = newStack();
    new ProxyDefaults(stack, 'pd', { datacenter: existing(stack, version), meshGatewayMode: MeshGatewayMode.local() });
    return JSON.parse(resourceAt(synthJson(stack), 'consul_config_entry', 'pd/Resource').config_json);
  };

  test('proxy-defaults AccessLogs is sent from 1.15 (read back as {} there), and left out before (1.14 refuses the key)', () => {
    expect(proxyDefaultsBody(ConsulVersion.V1_14_11)).toEqual({ TransparentProxy: {}, MeshGateway: { Mode: 'local' }, Expose: {} });
    expect(proxyDefaultsBody(ConsulVersion.of('1.15.0'))).toEqual({ TransparentProxy: {}, MeshGateway: { Mode: 'local' }, Expose: {}, AccessLogs: {} });
  });

  test('an upstream override for a peer renders from 1.15', () => {
    const stack = newStack();
    new ServiceDefaults(stack, 'web', {
      datacenter: existing(stack, ConsulVersion.of('1.15.0')), service: 'web',
      upstreamOverrides: [{ service: 'api', peer: 'west', meshGatewayMode: MeshGatewayMode.local() }],
    });
    expect(JSON.parse(resourceAt(synthJson(stack), 'consul_config_entry', 'web/Resource').config_json).UpstreamConfig)
      .toEqual({ Overrides: [{ Name: 'api', Peer: 'west', MeshGateway: { Mode: 'local' } }] });
  });

  test('rejects an upstream override for a peer on 1.14, in props or added later, naming the version that has it', () => {
    const stack = newStack();
    const dc = existing(stack, ConsulVersion.V1_14_11);
    const message = 'test/web: service-defaults UpstreamConfig.Overrides[].Peer needs Consul 1.15.0 or newer, and this datacenter runs 1.14.11 '
      + '(got: {"service":"api","peer":"west"}). Drop `peer` and set the mode on the sidecar\'s upstream instead';
    expect(() => new ServiceDefaults(stack, 'web', { datacenter: dc, service: 'web', upstreamOverrides: [{ service: 'api', peer: 'west' }] }))
      .toThrow(message);
    const later = new ServiceDefaults(stack, 'web2', { datacenter: dc, service: 'web2', upstreamOverrides: [{ service: 'api' }] });
    expect(() => later.addUpstreamOverride({ service: 'api', peer: 'west' })).toThrow(/Overrides\[\]\.Peer needs Consul 1\.15\.0 or newer, and this datacenter runs 1\.14\.11/);
    expect(later.upstreamOverrides).toEqual([{ service: 'api' }]);
  });

  test('gateways run the Envoy their datacenter\'s Consul supports, unless told otherwise', () => {
    const stack = newStack();
    const old = new DockerDatacenter(stack, 'old', { name: 'old', httpPort: 8500, image: 'local/consul:1.14.11' });
    const current = new DockerDatacenter(stack, 'current', { name: 'current', httpPort: 8501 });
    old.addMeshGateway('gateway');
    current.addMeshGateway('gateway');
    new IngressGateway(stack, 'ingress', { datacenter: old, envoyImage: 'local/envoy:custom' }).addListener({ port: 8080, services: [{ name: 'db' }] });
    const json = synthJson(stack);
    const images = Object.values<any>(json.resource.docker_image).map((i) => i.name);
    const imageOf = (path: string) => {
      const ref = resourcesOf(json, 'docker_container')[path].image as string;
      const id = /docker_image\.([^.]+)\.image_id/.exec(ref)![1];
      return json.resource.docker_image[id].name;
    };
    expect(imageOf('old/gateway/Replica0/Envoy')).toBe('envoyproxy/envoy:v1.24.12');
    expect(imageOf('current/gateway/Replica0/Envoy')).toBe('envoyproxy/envoy:v1.29.12');
    expect(imageOf('ingress/Replica0/Envoy')).toBe('local/envoy:custom');
    expect(images).toEqual(expect.arrayContaining(['local/consul:1.14.11', 'hashicorp/consul:1.19.2']));
  });
});
