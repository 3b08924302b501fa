// examples/two-hosts deployed for real: two Docker engines of the suite's
// own, each in a network namespace of its own, joined by a veth pair with
// test-only addresses (the "WAN"). Each datacenter's stack is applied by
// OpenTofu from inside its engine's namespace, as on its own host: the
// primary's first, then the secondary's, which reads the replication token
// from the primary's state and writes its servers' tokens through the
// primary's HTTPS API across the link. Then: leaders, WAN members, ACL and
// config entry replication, TLS refusing plaintext, secrets nowhere in the
// JSON; destroy of the secondary leaves the primary untouched; a secondary
// of another app joins from inputs alone; two independent clusters on the
// two hosts peer directly; a one-engine federation given the CA runs TLS
// too, and a one-stack federation spans both hosts; and nothing is left on
// either engine. Envoy is
// not available here: the gateways are registered, their Envoy containers off.
import { spawnSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, LocalBackend, TerraformStack, TerraformVariable } from 'cdktf';
import { DockerProvider } from '@cdktf/provider-docker/lib/provider';
import { twoHosts } from '../../examples/two-hosts/main';
import { ClusterPeering, ConsulFederation, DockerDatacenter, FederationMethod } from '../../lib';
import { leftoversOn } from '../support/docker-deployment';
import { DockerEngine } from '../support/docker-engine';
import { CertificateAuthorityFiles, createCa, engineApi, EngineApiRequest, EngineApiResponse } from '../support/engine-api';
import { eventually } from '../support/eventually';
import { TerraformWorkspace } from '../support/terraform';
import { outputsBesidesServerCounts } from '../support/synth';
import { requireTool } from '../support/tools';
import { startLinkedEngines, tearDownLinked } from '../support/wan-link';

const consulBin = requireTool('consul');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-two-hosts-'));
const token = randomUUID();
/** The peered cluster west's own management token (east shares the federation's). */
const westToken = randomUUID();
const gossipKey = spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim();

let engines: { dc1: DockerEngine; dc2: DockerEngine };
let addresses: [string, string];
let ca: CertificateAuthorityFiles;
let otherCa: CertificateAuthorityFiles;
let image: string;
const ws: Partial<Record<'dc1' | 'dc2' | 'alone' | 'peering' | 'oneEngine' | 'oneStack', TerraformWorkspace>> = {};
let json: { dc1: string; dc2: string };
const timings: string[] = [];
type Dc = 'dc1' | 'dc2';

/**
 * A request to a datacenter's HTTPS API from inside its engine's namespace
 * (its own host), verifying the certificate against `caFile`.
 */
function api(dc: Dc, urlPath: string, options: Partial<EngineApiRequest> = {}): EngineApiResponse {
  return engineApi(engines[dc], urlPath, { ...options, caFile: options.caFile ?? ca.caFile, token: options.token ?? token });
}

/** A ConsulFederation's secrets (its id: fed), with the CA. */
const federationVars = () => ({ fed_management_token: token, fed_gossip_key: gossipKey, ca_certificate: ca.cert, ca_private_key: ca.key });

/** The federation's secrets, as each datacenter's stack names its variables: one token, one gossip key, one CA. */
const secretVars = (dc: Dc) => ({
  [`${dc}_management_token`]: token, [`${dc}_gossip_key`]: gossipKey, ca_certificate: ca.cert, ca_private_key: ca.key,
});

const getJson = (dc: Dc, urlPath: string) => {
  const r = api(dc, urlPath);
  if (r.status !== 200) throw new Error(`GET ${urlPath} in ${dc}: ${r.status} ${r.error ?? r.body}`);
  return JSON.parse(r.body);
};

type Variable = (name: string, sensitive: boolean) => string;

/**
 * A stack of its own in an app of its own (`build` fills it; `variable`
 * declares a string variable of it), synthesized, with its workspace: state
 * in the suite's work dir, OpenTofu run from `runner`'s host.
 */
function ownStack(name: keyof typeof ws, build: (stack: TerraformStack, variable: Variable) => void, vars: Record<string, string>, runner: Dc): string {
  const app = new App({ outdir: path.join(work, `out-${name}`) });
  const stack = new TerraformStack(app, name);
  new LocalBackend(stack, { path: path.join(work, `${name}.tfstate`) });
  build(stack, (variable, sensitive) => new TerraformVariable(stack, variable, { type: 'string', sensitive }).stringValue);
  app.synth();
  const text = fs.readFileSync(path.join(work, `out-${name}`, 'stacks', name, 'cdk.tf.json'), 'utf8');
  ws[name] = new TerraformWorkspace(text, { vars, wrap: engines[runner].inEngineNetwork, prefix: `cmesh-two-hosts-${name}-` });
  return text;
}

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  timings.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return result;
}

beforeAll(async () => {
  ({ engines, addresses, image } = await startLinkedEngines('e2e-two-hosts'));
  const { dc1, dc2 } = engines;
  ca = createCa(path.join(work, 'ca'));
  otherCa = createCa(path.join(work, 'other-ca'));

  const app = new App({ outdir: path.join(work, 'out') });
  const { primary, secondary } = twoHosts(app, {
    dc1: { dockerHost: dc1.host, address: addresses[0] },
    dc2: { dockerHost: dc2.host, address: addresses[1] },
    image,
    startEnvoy: false,
  });
  new LocalBackend(primary, { path: path.join(work, 'dc1.tfstate') });
  new LocalBackend(secondary, { path: path.join(work, 'dc2.tfstate') });
  app.synth();
  const read = (stack: string) => fs.readFileSync(path.join(work, 'out', 'stacks', stack, 'cdk.tf.json'), 'utf8');
  json = { dc1: read('two-hosts-dc1'), dc2: read('two-hosts-dc2') };
  ws.dc1 = new TerraformWorkspace(json.dc1, { vars: secretVars('dc1'), wrap: dc1.inEngineNetwork, prefix: 'cmesh-two-hosts-dc1-' });
  ws.dc2 = new TerraformWorkspace(json.dc2, { vars: secretVars('dc2'), wrap: dc2.inEngineNetwork, prefix: 'cmesh-two-hosts-dc2-' });
}, 10 * 60_000);

afterAll(async () => {
  // The secondary first: it reads the primary's state.
  await tearDownLinked((['oneStack', 'oneEngine', 'peering', 'alone', 'dc2', 'dc1'] as const).map((name) => ws[name]), Object.values(engines ?? {}));
  fs.rmSync(work, { recursive: true, force: true });
  if (timings.length > 0) console.log(`two-hosts timings: ${timings.join(', ')}`);
}, 5 * 60_000);

test('no secret is in either stack\'s JSON: tokens, gossip key and CA key arrive as variables or remote state', () => {
  for (const text of Object.values(json)) {
    expect(text).not.toContain(token);
    expect(text).not.toContain(gossipKey);
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).toContain('"ca_pem": "${var.ca_certificate}"');
  }
  // The replication token crosses as the primary's sensitive output, read by the secondary from its state.
  const outputs = outputsBesidesServerCounts(JSON.parse(json.dc1));
  expect(Object.values<any>(outputs).map((o) => o.sensitive)).toEqual([true]);
  // (Inside the server's config, itself a JSON string in cdk.tf.json.)
  expect(json.dc2).toContain('\\"replication\\": \\"${data.terraform_remote_state.cross-stack-reference-input-two-hosts-dc1.outputs.');
});

test('the primary\'s stack applies on its host, then the secondary\'s on the other; neither plans changes after', async () => {
  await timed('apply dc1', () => ws.dc1!.apply());
  await timed('apply dc2', () => ws.dc2!.apply());
  await ws.dc1!.expectNoChanges();
  await ws.dc2!.expectNoChanges();
  const outputs = await ws.dc1!.run(['output', '-no-color']);
  expect(outputs.stdout).toMatch(/= <sensitive>/);
}, 10 * 60_000);

test('both datacenters have a leader and see each other over the WAN at the hosts\' addresses', async () => {
  for (const dc of ['dc1', 'dc2'] as Dc[]) expect(getJson(dc, '/v1/status/leader')).toMatch(/:8300$/);
  const wan = await eventually('both servers alive in the WAN pool',
    async () => getJson('dc1', '/v1/agent/members?wan=1') as any[],
    (members) => members.filter((m) => m.Status === 1).length === 2, 60_000, 500);
  expect(wan.map((m) => `${m.Name} ${m.Addr}:${m.Port}`).sort()).toEqual([`dc1-server-0.dc1 ${addresses[0]}:8302`, `dc2-server-0.dc2 ${addresses[1]}:8302`]);
  // An RPC forwarded from dc2 to dc1 (server TLS both ways, hostnames verified).
  expect(getJson('dc2', '/v1/catalog/nodes?dc=dc1').map((n: any) => n.Node)).toEqual(['dc1-server-0']);
  expect(getJson('dc1', '/v1/catalog/datacenters').sort()).toEqual(['dc1', 'dc2']);
}, 2 * 60_000);

test('ACLs and config entries replicate from the primary to the secondary', async () => {
  const replication = getJson('dc2', '/v1/acl/replication');
  expect(replication).toMatchObject({ Enabled: true, Running: true, SourceDatacenter: 'dc1', ReplicationType: 'tokens' });
  expect(replication.ReplicatedTokenIndex).toBeGreaterThan(0);
  // The secondary's gateway token was created in dc1 and serves in dc2: its registration ran with it.
  expect(getJson('dc2', '/v1/catalog/service/mesh-gateway').map((s: any) => s.ServiceKind)).toEqual(['mesh-gateway']);
  // proxy-defaults, written in dc1 by the primary's stack, read from dc2's own replica.
  const entry = await eventually('proxy-defaults replicated to dc2', async () => api('dc2', '/v1/config/proxy-defaults/global'),
    (r) => r.status === 200, 30_000, 500);
  expect(JSON.parse(entry.body).MeshGateway).toEqual({ Mode: 'local' });
  // The secondary's gateway registered its WAN address on its host.
  const gateway = getJson('dc2', '/v1/catalog/service/mesh-gateway')[0];
  expect(gateway.ServiceTaggedAddresses.wan).toEqual({ Address: addresses[1], Port: 8443 });
});

test('TLS wherever traffic leaves a host: the API refuses plaintext and unknown CAs, RPC refuses plaintext', async () => {
  // Over the link, on the primary's published API port.
  const plain = api('dc2', '/v1/status/leader', { scheme: 'http', host: addresses[0] });
  expect(plain.status).toBe(400);
  expect(plain.body).toMatch(/HTTP request to an HTTPS server/);
  const stranger = api('dc2', '/v1/status/leader', { host: addresses[0], caFile: otherCa.caFile });
  expect(stranger.status).toBe(0);
  expect(stranger.error).toMatch(/certificate/);
  expect(api('dc2', '/v1/status/leader', { host: addresses[0] }).status).toBe(200);

  // A plaintext RPC (the Consul RPC byte, no TLS) to the primary's server port, from the other host.
  const script = `const s = require('net').connect(8300, process.argv[1], () => s.write(Buffer.from([1, 0x81, 0xa0])));
s.on('close', () => process.exit(0)); s.on('error', () => process.exit(0)); setTimeout(() => process.exit(3), 10000);`;
  const argv = engines.dc2.inEngineNetwork([process.execPath, '-e', script, addresses[0]]);
  expect(spawnSync(argv[0], argv.slice(1)).status).toBe(0);
  const logs = await eventually('the server says it refused', () => engines.dc1.docker(['logs', 'consul-dc1-server-0']),
    (r) => /Non-TLS connection attempted/i.test(r.stdout + r.stderr), 10_000, 250);
  expect(logs.stdout + logs.stderr).toMatch(/Non-TLS connection attempted with VerifyIncoming set/);
});

test('the CA key is gone from the container that signed the certificates', async () => {
  for (const dc of ['dc1', 'dc2'] as Dc[]) {
    // `docker export` writes a tar to stdout: list it instead of reading it as text.
    const listing = spawnSync('sh', ['-c', `docker container export consul-${dc}-server-0-issue-cert | tar -t`],
      { encoding: 'utf8', env: { ...process.env, DOCKER_HOST: engines[dc].host } });
    expect(listing.status).toBe(0);
    expect(listing.stdout).toContain('upload/ca.pem');
    expect(listing.stdout).not.toContain('upload/ca-key.pem');
  }
});

test('destroying the secondary\'s stack takes it out of the federation and leaves the primary untouched', async () => {
  await timed('destroy dc2', () => ws.dc2!.destroy());
  expect(await leftoversOn(engines.dc2)).toEqual([]);
  // Its server left (status 3) rather than failed (4).
  const wan = await eventually('dc2-server-0 has left', async () => getJson('dc1', '/v1/agent/members?wan=1') as any[],
    (members) => members.find((m) => m.Name === 'dc2-server-0.dc2')?.Status === 3, 30_000, 500);
  expect(wan.find((m) => m.Name === 'dc1-server-0.dc1').Status).toBe(1);
  const tokens = (getJson('dc1', '/v1/acl/tokens') as any[]).map((t) => t.Description);
  expect(tokens.filter((d) => /dc2/.test(d))).toEqual([]);
  expect(tokens).toContain('Agent token of dc1-server-0');
  await ws.dc1!.expectNoChanges();
}, 5 * 60_000);

test('a secondary of another app joins from inputs alone (a sensitive variable for the token) and leaves again', async () => {
  // What the primary's app hands over: its sensitive output, read by the operator.
  const outputName = Object.keys(outputsBesidesServerCounts(JSON.parse(json.dc1)))[0];
  const replicationToken = (await ws.dc1!.must(['output', '-raw', '-no-color', outputName])).stdout;
  expect(replicationToken).toMatch(/^[0-9a-f-]{36}$/);

  const text = ownStack('alone', (stack, variable) => new DockerDatacenter(stack, 'dc2', {
    name: 'dc2',
    image,
    dockerProvider: new DockerProvider(stack, 'docker', { host: engines.dc2.host }),
    hostAddress: addresses[1],
    tls: { caCertificate: variable('ca_certificate', false), caPrivateKey: variable('ca_private_key', true) },
    join: {
      primaryDatacenter: 'dc1',
      method: FederationMethod.wanGossip(),
      serverWanAddresses: [`${addresses[0]}:8302`],
      meshGatewayWanAddresses: [],
      primaryApiAddress: `${addresses[0]}:8500`,
      replicationToken: variable('replication_token', true),
    },
  }), { ...secretVars('dc2'), replication_token: replicationToken }, 'dc2');
  expect(text).not.toContain(replicationToken);
  // It reads no other stack's state: its only remote state is its own, where the shrink guard finds the server count it recorded.
  expect(Object.keys(JSON.parse(text).data?.terraform_remote_state ?? {})).toEqual(['cdktf-consul-mesh-previous-deploy']);
  expect(text).not.toContain('cross-stack-reference');
  await timed('apply dc2 (other app)', () => ws.alone!.apply());
  await ws.alone!.expectNoChanges();
  await eventually('dc2-server-0 alive again in the WAN pool', async () => getJson('dc1', '/v1/agent/members?wan=1') as any[],
    (members) => members.find((m) => m.Name === 'dc2-server-0.dc2')?.Status === 1, 60_000, 500);
  expect(getJson('dc2', '/v1/acl/replication')).toMatchObject({ Running: true, SourceDatacenter: 'dc1' });
  await ws.alone!.destroy();
  expect(await leftoversOn(engines.dc2)).toEqual([]);

  await timed('destroy dc1', () => ws.dc1!.destroy());
  expect(await leftoversOn(engines.dc1)).toEqual([]);
}, 5 * 60_000);

test('two clusters on the two hosts peer directly (servers dialing each other\'s published gRPC TLS port) and share a service', async () => {
  ownStack('peering', (stack, variable) => {
    // Independent clusters, independent CAs.
    const cluster = (name: string, engine: DockerEngine, address: string) => new DockerDatacenter(stack, name, {
      name,
      image,
      dockerProvider: new DockerProvider(stack, `docker-${name}`, { host: engine.host, alias: name }),
      hostAddress: address,
      tls: { caCertificate: variable(`${name}_ca_certificate`, false), caPrivateKey: variable(`${name}_ca_private_key`, true) },
    });
    new ClusterPeering(stack, 'peering', {
      acceptor: cluster('east', engines.dc1, addresses[0]),
      dialer: cluster('west', engines.dc2, addresses[1]),
      throughMeshGateways: false,
      exportedServices: [{ service: 'api', allowedCallers: ['web'] }],
    });
  }, {
    east_management_token: token, east_gossip_key: gossipKey, east_ca_certificate: ca.cert, east_ca_private_key: ca.key,
    west_management_token: westToken, west_gossip_key: spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim(),
    west_ca_certificate: otherCa.cert, west_ca_private_key: otherCa.key,
  }, 'dc1'); // One runner for both clusters: on the east host, reaching west's API across the link.
  await timed('apply peering', () => ws.peering!.apply());
  try {
    await checkPeering();
  } finally {
    // Whatever the checks found: the next test needs the hosts' addresses and subnets free.
    await timed('destroy peering', () => ws.peering!.destroy());
  }
  for (const engine of [engines.dc1, engines.dc2]) expect(await leftoversOn(engine)).toEqual([]);
}, 5 * 60_000);

/** The peering, ACTIVE both ways, dialing the host address, sharing a service. */
async function checkPeering(): Promise<void> {
  const westApi = (urlPath: string) => {
    const r = api('dc2', urlPath, { caFile: otherCa.caFile, token: westToken });
    if (r.status !== 200) throw new Error(`GET ${urlPath} in west: ${r.status} ${r.error ?? r.body}`);
    return JSON.parse(r.body);
  };
  await eventually('east\'s peering ACTIVE', async () => getJson('dc1', '/v1/peering/west'), (p) => p.State === 'ACTIVE', 60_000, 500);
  await eventually('west\'s peering ACTIVE', async () => westApi('/v1/peering/east'), (p) => p.State === 'ACTIVE', 60_000, 500);
  // The acceptor pushes its ready servers' addresses over the stream, preferring their WAN (host) address; the
  // first push can come before a server's catalog entry has that tagged address, and the next one corrects it.
  const dialer = await eventually('west dials east at its host address', async () => westApi('/v1/peering/east'),
    (p) => JSON.stringify(p.PeerServerAddresses) === JSON.stringify([`${addresses[0]}:8503`]), 60_000, 500);
  expect(dialer.PeerServerAddresses).toEqual([`${addresses[0]}:8503`]);
  await ws.peering!.expectNoChanges();

  // A service registered in east reaches west's catalog as an import.
  const register = api('dc1', '/v1/catalog/register', { method: 'PUT', body: JSON.stringify({ Node: 'api-host', Address: '10.0.0.7', Service: { Service: 'api', Port: 9090 } }) });
  expect(register.status).toBe(200);
  const imported = await eventually('api imported into west', async () => westApi('/v1/health/service/api?peer=east'), (r) => r.length === 1, 60_000, 500);
  expect(imported[0].Service).toMatchObject({ Service: 'api', Port: 9090, PeerName: 'east' });
}

test('on one engine, a ConsulFederation given a CA runs server RPC TLS over WAN gossip too, and the HTTPS API', async () => {
  ownStack('oneEngine', (stack, variable) => new ConsulFederation(stack, 'fed', {
    primary: { name: 'dc1' },
    secondaries: [{ name: 'dc2' }],
    image,
    dockerProvider: new DockerProvider(stack, 'docker', { host: engines.dc1.host }),
    tls: { caCertificate: variable('ca_certificate', false), caPrivateKey: variable('ca_private_key', true) },
  }), federationVars(), 'dc1');
  await timed('apply one-engine federation', () => ws.oneEngine!.apply());
  try {
    const get = (port: number, urlPath: string) => JSON.parse(api('dc1', urlPath, { port }).body);
    await eventually('both servers alive in the WAN pool', async () => get(8500, '/v1/agent/members?wan=1') as any[],
      (members) => members.filter((m) => m.Status === 1).length === 2, 60_000, 500);
    // An RPC forwarded from dc2 to dc1 over TLS; the HTTPS API refuses plaintext.
    expect(get(8501, '/v1/catalog/nodes?dc=dc1').map((n: any) => n.Node)).toEqual(['dc1-server-0']);
    expect(api('dc1', '/v1/status/leader', { scheme: 'http', port: 8501 }).status).toBe(400);
    await ws.oneEngine!.expectNoChanges();
  } finally {
    await ws.oneEngine!.destroy();
  }
  expect(await leftoversOn(engines.dc1)).toEqual([]);
}, 5 * 60_000);

test('one stack across the two hosts: a ConsulFederation whose datacenters name their engines and host addresses', async () => {
  ownStack('oneStack', (stack, variable) => {
    const engine = (dc: Dc) => new DockerProvider(stack, `docker-${dc}`, { host: engines[dc].host, alias: dc });
    new ConsulFederation(stack, 'fed', {
      primary: { name: 'dc1', hostAddress: addresses[0], dockerProvider: engine('dc1') },
      secondaries: [{ name: 'dc2', hostAddress: addresses[1], dockerProvider: engine('dc2'), httpPort: 8500 }],
      image,
      tls: { caCertificate: variable('ca_certificate', false), caPrivateKey: variable('ca_private_key', true) },
    });
  }, federationVars(), 'dc1'); // One runner for both hosts, on dc1's: dc2's API is reached across the link.
  await timed('apply one-stack federation', () => ws.oneStack!.apply());
  try {
    const wan = await eventually('both servers alive in the WAN pool', async () => getJson('dc1', '/v1/agent/members?wan=1') as any[],
      (members) => members.filter((m) => m.Status === 1).length === 2, 60_000, 500);
    expect(wan.map((m) => `${m.Name} ${m.Addr}`).sort()).toEqual([`dc1-server-0.dc1 ${addresses[0]}`, `dc2-server-0.dc2 ${addresses[1]}`]);
    expect(getJson('dc2', '/v1/catalog/nodes?dc=dc1').map((n: any) => n.Node)).toEqual(['dc1-server-0']);
    expect(getJson('dc2', '/v1/acl/replication')).toMatchObject({ Running: true, SourceDatacenter: 'dc1' });
    await ws.oneStack!.expectNoChanges();
  } finally {
    await ws.oneStack!.destroy();
  }
  for (const dc of ['dc1', 'dc2'] as Dc[]) expect(await leftoversOn(engines[dc])).toEqual([]);
}, 5 * 60_000);
