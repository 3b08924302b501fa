// Wrong stacks that only show across the stacks of an app, or between props
// that each look valid: each is refused at synth, naming the innermost
// construct, the value and the fix, and no stack is written.
import { App, TerraformOutput, TerraformStack, TerraformVariable } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { DockerDatacenter, FederationMethod, ServiceDefaults } from '../../lib';
import { attemptApp } from '../support/attempt';

const tls = (stack: TerraformStack) => ({
  caCertificate: new TerraformVariable(stack, 'ca_certificate', { type: 'string' }).stringValue,
  caPrivateKey: new TerraformVariable(stack, 'ca_private_key', { type: 'string', sensitive: true }).stringValue,
});

/** A datacenter on a Docker host of its own, in a stack of its own (the two-hosts layout). */
function hostStack(app: App, name: string, host: string | undefined, props: { federationMethod?: FederationMethod; join?: ReturnType<DockerDatacenter['federationJoin']>; address?: string } = {}) {
  const stack = new TerraformStack(app, name);
  const datacenter = new DockerDatacenter(stack, name, {
    name, hostAddress: props.address ?? '192.0.2.1', tls: tls(stack), federationMethod: props.federationMethod, join: props.join,
    dockerProvider: new DockerProvider(stack, 'docker', { host }),
  });
  return { stack, datacenter };
}

function federation(app: App, hosts: [string | undefined, string | undefined]) {
  const dc1 = hostStack(app, 'dc1', hosts[0], { federationMethod: FederationMethod.wanGossip() });
  const dc2 = hostStack(app, 'dc2', hosts[1], { join: dc1.datacenter.federationJoin(), address: '192.0.2.2' });
  return { dc1, dc2 };
}

describe('unique across every stack of the app', () => {
  test('accepts a federation split across stacks on two engines', () => {
    expect(attemptApp((app) => federation(app, ['unix:///run/a.sock', 'unix:///run/b.sock']))).toEqual({ error: '', written: ['dc1', 'dc2'] });
  });

  test('accepts two stacks whose engines synth cannot tell apart (the host is a reference)', () => {
    const { error } = attemptApp((app) => federation(app, ['unix:///run/a.sock', '${var.dc2_docker_host}']));
    expect(error).toBe('');
  });

  test('rejects two stacks whose datacenters take one subnet and one host port on one engine, naming both and the stack', () => {
    // One literal host: one engine, whatever the providers are called.
    const { error, written } = attemptApp((app) => federation(app, ['unix:///run/a.sock', 'unix:///run/a.sock']));
    expect(error).toContain('[dc2/dc2] dc2/dc2 and dc1/dc1 (stack dc1, on the Docker engine at unix:///run/a.sock) use the same subnet (got: "10.249.1.0/24"). '
      + 'Give each datacenter on one Docker engine its own lanSubnet (each stack numbers its defaults from 10.249.1.0/24), or give one a dockerProvider for another engine.');
    expect(error).toContain('[dc2/dc2] dc2/dc2 and dc1/dc1 (stack dc1, on the Docker engine at unix:///run/a.sock) publish the same host port (got: 8500). Give each datacenter its own httpPort.');
    expect(written).toEqual([]);
  });

  test('rejects two stacks on the default engine (no provider, or one without a host) sharing a subnet', () => {
    const { error, written } = attemptApp((app) => {
      new DockerDatacenter(new TerraformStack(app, 'east'), 'dc', { name: 'east' });
      const west = new TerraformStack(app, 'west');
      new DockerDatacenter(west, 'dc', { name: 'west', httpPort: 8510, dockerProvider: new DockerProvider(west, 'docker', {}) });
    });
    expect(error).toContain('[west/dc] west/dc and east/dc (stack east, on the default Docker engine) use the same subnet (got: "10.249.1.0/24")');
    expect(written).toEqual([]);
  });

  test('rejects the same datacenter name and prefix in two stacks on one engine: one set of Docker objects', () => {
    const { error, written } = attemptApp((app) => {
      new DockerDatacenter(new TerraformStack(app, 'east'), 'dc', { name: 'dc1' });
      new DockerDatacenter(new TerraformStack(app, 'west'), 'dc', { name: 'dc1', httpPort: 8510, lanSubnet: '10.249.7.0/24' });
    });
    expect(error).toContain('[west/dc] Docker network "consul-dc1" of west/dc is also created by east/dc (stack east, on the default Docker engine) (got: "consul-dc1"). '
      + 'Give one of them another name or namePrefix (Docker objects are named <namePrefix>-<datacenter>-...), or a dockerProvider for another engine.');
    expect(written).toEqual([]);
  });

  test('rejects Docker object names that prefix and datacenter name make equal, within one stack', () => {
    const { error } = attemptApp((app) => {
      const stack = new TerraformStack(app, 'one');
      new DockerDatacenter(stack, 'x', { name: 'b-c', namePrefix: 'a' });
      new DockerDatacenter(stack, 'y', { name: 'c', namePrefix: 'a-b', httpPort: 8510 });
    });
    expect(error).toContain('[one/y] Docker network "a-b-c" of one/y is also created by one/x (got: "a-b-c")');
  });

  test('rejects two secondaries of one name joining one primary from two stacks (a copy of the join included)', () => {
    const { error, written } = attemptApp((app) => {
      const { dc1 } = federation(app, ['unix:///run/a.sock', 'unix:///run/b.sock']);
      const again = new TerraformStack(app, 'again');
      new DockerDatacenter(again, 'second-dc2', {
        name: 'dc2', hostAddress: '192.0.2.3', tls: tls(again), join: { ...dc1.datacenter.federationJoin() },
        dockerProvider: new DockerProvider(again, 'docker', { host: 'unix:///run/c.sock' }),
      });
    });
    expect(error).toContain('[again/second-dc2] datacenter "dc2" of again/second-dc2 is in the federation that dc2/dc2 (stack dc2) is in already, under the same name (got: "dc2"). '
      + 'Give each datacenter of a federation its own name: Consul tells them apart by name alone.');
    expect(written).toEqual([]);
  });

  test('accepts datacenters of one name in two federations of one app', () => {
    const { error } = attemptApp((app) => {
      const a = hostStack(app, 'dc1', 'unix:///run/a.sock', { federationMethod: FederationMethod.wanGossip() });
      hostStack(app, 'dc2', 'unix:///run/b.sock', { join: a.datacenter.federationJoin(), address: '192.0.2.2' });
      const other = new TerraformStack(app, 'other');
      new DockerDatacenter(other, 'dc2', {
        name: 'dc2', hostAddress: '192.0.2.3', tls: tls(other), federationMethod: FederationMethod.wanGossip(),
        dockerProvider: new DockerProvider(other, 'docker', { host: 'unix:///run/c.sock' }),
      });
    });
    expect(error).toBe('');
  });
});

describe('props that contradict each other', () => {
  test('rejects a primaryApiAddress that the servers\' TLS certificate does not cover', () => {
    const { error, written } = attemptApp((app) => {
      const { datacenter } = hostStack(app, 'dc1', undefined, { federationMethod: FederationMethod.wanGossip() });
      datacenter.federationJoin({ primaryApiAddress: 'consul.example.internal:8500' });
    });
    expect(error).toBe('dc1/dc1: primaryApiAddress names "consul.example.internal", which the servers\' TLS certificate does not cover '
      + '(it lists 192.0.2.1, 127.0.0.1, localhost, server.dc1.consul, dc1-server-0.server.dc1.consul), so secondaries could not verify the API '
      + '(got: "consul.example.internal:8500"). Use one of those (e.g. "192.0.2.1:8500"), or reach the API through a name the certificate lists.');
    expect(written).toEqual([]);
  });

  test.each(['192.0.2.1:8500', '127.0.0.1:18500', 'server.dc1.consul:8500', '[127.0.0.1]:8500'])('accepts the covered primaryApiAddress %s', (address) => {
    const { error } = attemptApp((app) => {
      const { datacenter } = hostStack(app, 'dc1', undefined, { federationMethod: FederationMethod.wanGossip() });
      datacenter.federationJoin({ primaryApiAddress: address });
    });
    expect(error).toBe('');
  });
});

describe('stacks that cannot be ordered', () => {
  test('rejects stacks that read each other\'s values, naming each construct that reads across, before cdktf\'s own error', () => {
    const { error, written } = attemptApp((app) => {
      const { dc1, dc2 } = federation(app, ['unix:///run/a.sock', 'unix:///run/b.sock']);
      // dc2's stack reads dc1's replication token; this makes dc1's read dc2's.
      const fromDc2 = new TerraformVariable(dc2.stack, 'team', { type: 'string' });
      new TerraformOutput(dc1.stack, 'dc2-team', { value: fromDc2.stringValue });
    });
    expect(error).toBe('dc1/dc2-team: stacks dc1 and dc2 read each other\'s values, so neither can be applied first: '
      + 'dc1/dc2-team (stack dc1) reads dc2/team (stack dc2); dc2/dc2/Server0/Container (stack dc2) reads dc1/dc1/ReplicationTokenSecret (stack dc1) '
      + '(got: "dc1 -> dc2 -> dc1"). Move one of these constructs into the stack it reads from, or pass the value in through a variable of its stack instead of a reference.');
    expect(written).toEqual([]);
  });

  test('names every stack of a longer circle', () => {
    const { error } = attemptApp((app) => {
      const [a, b, c] = ['a', 'b', 'c'].map((id) => new TerraformStack(app, id));
      const va = new TerraformVariable(a, 'x', { type: 'string' });
      const vb = new TerraformVariable(b, 'y', { type: 'string' });
      const vc = new TerraformVariable(c, 'z', { type: 'string' });
      new TerraformOutput(a, 'reads-b', { value: vb.stringValue });
      new TerraformOutput(b, 'reads-c', { value: vc.stringValue });
      new TerraformOutput(c, 'reads-a', { value: va.stringValue });
      // The library's constructs in the last stack prepared: the check still comes before cdktf's.
      new DockerDatacenter(c, 'dc', { name: 'dc1' });
    });
    expect(error).toMatch(/^a\/reads-b: stacks a and b and c read each other's values/);
    expect(error).toContain('a/reads-b (stack a) reads b/y (stack b); b/reads-c (stack b) reads c/z (stack c); c/reads-a (stack c) reads a/x (stack a) (got: "a -> b -> c -> a")');
  });

  test('rejects a construct declared in one stack for a datacenter declared in another, naming the provider it cannot use', () => {
    const { error, written } = attemptApp((app) => {
      const home = new TerraformStack(app, 'home');
      const dc = new DockerDatacenter(home, 'dc', { name: 'dc1' });
      const elsewhere = new TerraformStack(app, 'elsewhere');
      // Its own datacenter gives it a consul provider, so Terraform would not notice the missing one.
      new DockerDatacenter(elsewhere, 'own', { name: 'own', dockerProvider: new DockerProvider(elsewhere, 'docker', { host: 'unix:///run/b.sock' }) });
      new ServiceDefaults(elsewhere, 'web', { datacenter: dc, service: 'web' });
    });
    expect(error).toContain('[elsewhere] elsewhere/web/Resource uses the provider of home/dc, declared in stack home: a provider serves its own stack only (got: "home/dc/Provider"). '
      + 'Declare elsewhere/web in stack home, or give this stack a datacenter of its own for the same Consul (ExistingDatacenter).');
    expect(written).toEqual([]);
  });
});
