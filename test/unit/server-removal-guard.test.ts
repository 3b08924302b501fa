// What the library writes to refuse a shrink that loses the quorum
// (lib/docker/server-removal-guard.ts); real OpenTofu runs the refusal in
// test/integration/server-removal.test.ts and test/e2e/day2.test.ts.
import { LocalBackend, PgBackend, TerraformStack, Testing } from 'cdktf';
import { ConsulFederation, DockerDatacenter } from '../../lib';
import { tolerance } from '../../lib/docker/server-removal-guard';
import { resourceAt, synthJson } from '../support/synth';

const guarded = (json: any) => Object.keys(json.resource.terraform_data ?? {}).filter((id) => id.includes('ServerRemovalGuard'));

test('a datacenter loses at most floor((n - 1) / 2) servers at once', () => {
  expect([1, 2, 3, 4, 5, 7].map(tolerance)).toEqual([0, 0, 1, 1, 2, 3]);
});

test('each datacenter of a federation records its server count in the servers\' stack, which reads its own state back only when it exists', () => {
  const app = Testing.app();
  const servers = new TerraformStack(app, 'servers');
  new LocalBackend(servers, { path: '/var/lib/states/servers.tfstate' });
  const site = new TerraformStack(app, 'site');
  new ConsulFederation(site, 'fed', { primary: { name: 'dc1', servers: 5 }, secondaries: [{ name: 'dc2', servers: 3 }], serverStack: servers });
  const json = synthJson(servers) as any;
  expect(json.output).toMatchObject({ 'consul-dc1-servers': { value: 5 }, 'consul-dc2-servers': { value: 3 } });
  // One read of the stack's own state, for both datacenters.
  expect(json.data.terraform_remote_state).toEqual({
    'cdktf-consul-mesh-previous-deploy': {
      backend: 'local',
      config: { path: '/var/lib/states/servers.tfstate' },
      workspace: '${terraform.workspace}',
      // Not fileexists(): the plan runs under the state's lock, which creates the file (empty) on a first deploy.
      count: '${terraform.workspace == "default" && length(try(file("/var/lib/states/servers.tfstate"), "")) > 0 ? 1 : 0}',
    },
  });
  expect(json.locals['consul-dc2-deployed-servers'])
    .toBe('${try(tonumber(data.terraform_remote_state.cdktf-consul-mesh-previous-deploy[0].outputs["consul-dc2-servers"]), 3)}');
  const check = resourceAt(json, 'terraform_data', 'fed/dc2/ServerRemovalGuard/PlanChecks').lifecycle.precondition;
  expect(check).toEqual([{
    condition: '${local.consul-dc2-deployed-servers - 3 <= floor((local.consul-dc2-deployed-servers - 1) / 2)}',
    error_message: expect.stringMatching(/^site\/fed\/dc2: servers \$\{local.consul-dc2-deployed-servers\} -> 3 removes/),
  }]);
  // The Consul side's stack holds none of it.
  const siteJson = synthJson(site) as any;
  expect(siteJson.output).toBeUndefined();
  expect(guarded(siteJson)).toEqual([]);
});

test('without a backend the stack reads back cdktf\'s default local state; with another backend, or when allowed, nothing is refused and the count is still recorded', () => {
  const plain = new TerraformStack(Testing.app(), 'plain');
  new DockerDatacenter(plain, 'dc1', { name: 'dc1', servers: 3 });
  const json = synthJson(plain) as any;
  expect(json.data.terraform_remote_state['cdktf-consul-mesh-previous-deploy'].config.path).toMatch(/\/terraform\.plain\.tfstate$/);
  // The library writes no backend of its own: cdktf adds its default at synth (Testing.synth does not).
  expect(json.terraform.backend).toBeUndefined();
  expect(guarded(json)).toHaveLength(1);

  const pg = new TerraformStack(Testing.app(), 'pg');
  new PgBackend(pg, { connStr: 'postgres://localhost/states' });
  new DockerDatacenter(pg, 'dc1', { name: 'dc1', servers: 3 });
  const pgJson = synthJson(pg) as any;
  expect(pgJson.data?.terraform_remote_state).toBeUndefined();
  expect(guarded(pgJson)).toEqual([]);
  expect(pgJson.output['consul-dc1-servers'].value).toBe(3);

  const allowed = new TerraformStack(Testing.app(), 'allowed');
  new DockerDatacenter(allowed, 'dc1', { name: 'dc1', servers: 1, allowUnsafeServerRemoval: true });
  const allowedJson = synthJson(allowed) as any;
  expect(allowedJson.data?.terraform_remote_state).toBeUndefined();
  expect(guarded(allowedJson)).toEqual([]);
  expect(allowedJson.output['consul-dc1-servers'].value).toBe(1);
});

test('a datacenter of 5 or 7 has no check: no larger count loses its quorum going there', () => {
  const stack = new TerraformStack(Testing.app(), 'big');
  new DockerDatacenter(stack, 'five', { name: 'five', servers: 5 });
  new DockerDatacenter(stack, 'seven', { name: 'seven', servers: 7, namePrefix: 'other', lanSubnet: '10.249.9.0/24', httpPort: 8600 });
  const json = synthJson(stack) as any;
  expect(guarded(json)).toEqual([]);
  expect(json.output).toMatchObject({ 'consul-five-servers': { value: 5 }, 'other-seven-servers': { value: 7 } });
});
