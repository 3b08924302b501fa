// The servers' TLS rotation (lib/docker/tls-rotation.ts): what the library
// writes, and its script run here for real in sh, one process per datacenter
// side by side, over TLS volumes in a temporary directory and a `consul`
// that signs, reloads and keeps KV in files. At every reload the fake checks
// what the rotation must never break: every server trusts the CA of every
// server's certificate. Against real Consul: test/e2e/rotations.test.ts.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, TerraformVariable, Testing } from 'cdktf';
import { ConsulFederation, DockerDatacenter, FederationMethod } from '../../lib';
import { tlsRotationScript } from '../../lib/docker/tls-rotation';
import { addressOf, resourceAt, synthJson } from '../support/synth';

const pem = (name: string) => `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`;
const OLD = pem('OLD-CA');
const NEW = pem('NEW-CA');
const NEW_KEY = 'NEW-CA-PRIVATE-KEY';

/** A fake consul: signs with the CA file's middle line as its mark, keeps KV in files, logs reloads and checks trust at each. */
const FAKE_CONSUL = `#!/bin/sh
D="$FAKE_DIR"
case "$1 $2" in
  "tls cert")
    shift 3
    while [ $# -gt 0 ]; do case "$1" in -dc) dc=$2; shift;; -node) node=$2; shift;; -ca) ca=$2; shift;; -key) key=$2; shift;; esac; shift; done
    grep -q PRIVATE-KEY "$key" || exit 1
    printf 'cert %s signed-by %s\\n' "$node" "$(sed -n 2p "$ca")" > "$dc-server-consul-0.pem"
    printf 'key of %s\\n' "$node" > "$dc-server-consul-0-key.pem"
    echo "sign $node" >> "$D/calls";;
  "kv get")
    f="$D/kv/$(echo "$4" | tr / _)"; echo "kv get $4" >> "$D/kv-calls"; test -f "$f" && cat "$f";;
  "kv put")
    mkdir -p "$D/kv"; echo "$5" > "$D/kv/$(echo "$4" | tr / _)"; echo "kv put $4 $5" >> "$D/kv-calls";;
  "reload ")
    echo "reload $CONSUL_HTTP_ADDR" >> "$D/calls"
    for s in "$D"/*/tls/*; do
      m=$(sed -n 's/.* signed-by //p' "$s/server.pem")
      for t in "$D"/*/tls/*; do grep -qx "$m" "$t/ca.pem" || echo "$t does not trust $m, which $s presents" >> "$D/violations"; done
    done;;
  "operator raft") ;;
  *) echo "unexpected: consul $*" >&2; exit 1;;
esac
`;

type ServerState = { ca: string; signedBy: string; mark?: string };
type Layout = Record<string, ServerState[]>;

/** Runs every datacenter's script side by side over servers in `layout`; returns what each server holds after, the calls and any broken trust. */
async function rotate(layout: Layout, opts: { generation?: number; kv?: Record<string, number>; alone?: boolean } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-tls-'));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin', 'consul'), FAKE_CONSUL, { mode: 0o755 });
  const datacenters = Object.keys(layout);
  const scripts = datacenters.map((dc) => {
    const servers = layout[dc].map((s, i) => {
      const tls = path.join(dir, dc, 'tls', String(i));
      fs.mkdirSync(tls, { recursive: true });
      fs.writeFileSync(path.join(tls, 'ca.pem'), s.ca);
      fs.writeFileSync(path.join(tls, 'server.pem'), `cert ${dc}-server-${i} signed-by ${s.signedBy}\n`);
      if (s.mark !== undefined) fs.writeFileSync(path.join(tls, 'issued'), `${s.mark}\n`);
      return { node: `${dc}-server-${i}`, lanAddress: `10.249.${datacenters.indexOf(dc) + 1}.${10 + i}`, tlsVolume: `v${i}` };
    });
    fs.mkdirSync(path.join(dir, dc, 'upload'));
    fs.writeFileSync(path.join(dir, dc, 'upload', 'ca.pem'), NEW);
    fs.writeFileSync(path.join(dir, dc, 'upload', 'ca-key.pem'), NEW_KEY);
    return tlsRotationScript({
      datacenter: dc, primaryDatacenter: datacenters[0], datacenters: opts.alone ? [dc] : datacenters, servers, generation: opts.generation ?? 1,
      ca: { kind: 'supplied', certificate: NEW, privateKey: NEW_KEY },
    }).replace(/\/tls\//g, `${dir}/${dc}/tls/`).replace(/\/upload\//g, `${dir}/${dc}/upload/`).replace(/n -ge \d+/g, 'n -ge 40');
  });
  for (const [key, value] of Object.entries(opts.kv ?? {})) {
    fs.mkdirSync(path.join(dir, 'kv'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'kv', key.replace(/\//g, '_')), `${value}\n`);
  }
  const env = { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, FAKE_DIR: dir };
  const run = (script: string) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => resolve({ code, out }));
  });
  const runs = [];
  if (opts.alone) for (const script of scripts) runs.push(await run(script));
  else runs.push(...await Promise.all(scripts.map(run)));
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n') : []);
  const servers = Object.fromEntries(datacenters.map((dc) => [dc, layout[dc].map((_, i) => {
    const tls = path.join(dir, dc, 'tls', String(i));
    return { trusts: fs.readFileSync(path.join(tls, 'ca.pem'), 'utf8').match(/^[A-Z]+-CA$/mg), presents: fs.readFileSync(path.join(tls, 'server.pem'), 'utf8').trim() };
  })]));
  const keyLeft = datacenters.filter((dc) => fs.existsSync(path.join(dir, dc, 'upload', 'ca-key.pem')));
  const result = { runs, servers, calls: read('calls'), kvCalls: read('kv-calls'), violations: read('violations'), keyLeft };
  fs.rmSync(dir, { recursive: true, force: true });
  return result;
}

const oldServer: ServerState = { ca: OLD, signedBy: 'OLD-CA' };
const federation = (): Layout => ({ dc1: [oldServer, oldServer, oldServer], dc2: [oldServer] });
const presents = (dc: string, n: number, ca: string) => Array.from({ length: n }, (_, i) => ({ trusts: [ca], presents: `cert ${dc}-server-${i} signed-by ${ca}` }));

describe('the script', () => {
  test('servers on the configured CA alone, first generation, certificates from before the marks: nothing to do, nothing read or written', async () => {
    const r = await rotate({ dc1: [{ ca: NEW, signedBy: 'NEW-CA' }], dc2: [{ ca: NEW, signedBy: 'NEW-CA' }] });
    expect(r.runs.map((x) => x.code)).toEqual([0, 0]);
    expect(r.calls).toEqual([]);
    expect(r.kvCalls).toEqual([]);
    expect(r.keyLeft).toEqual([]);
  });

  test('a new CA across two datacenters: both trusted, then new certificates, then the new CA alone; every server trusts every certificate throughout', async () => {
    const r = await rotate(federation());
    expect(r.runs).toEqual([
      { code: 0, out: 'TLS rotated in dc1: every server trusts only the configured CA and presents a certificate of it\n' },
      { code: 0, out: 'TLS rotated in dc2: every server trusts only the configured CA and presents a certificate of it\n' },
    ]);
    expect(r.violations).toEqual([]);
    expect(r.servers).toEqual({ dc1: presents('dc1', 3, 'NEW-CA'), dc2: presents('dc2', 1, 'NEW-CA') });
    // Three reloads a server: trust both, present the new certificate, trust the new CA alone.
    expect(r.calls.filter((c) => c.startsWith('reload')).sort()).toEqual(
      ['10.249.1.10', '10.249.1.11', '10.249.1.12', '10.249.2.10'].flatMap((a) => Array(3).fill(`reload http://${a}:8500`)).sort());
    expect(r.calls.filter((c) => c.startsWith('sign'))).toHaveLength(4);
    // The CA key is deleted, and neither key nor certificate text is printed.
    expect(r.keyLeft).toEqual([]);
    expect(r.runs.map((x) => x.out).join('')).not.toMatch(/PRIVATE-KEY|BEGIN/);
  });

  test('the waits between phases are what keeps trust: datacenters rotated one after the other, each alone, break it', async () => {
    const r = await rotate(federation(), { alone: true });
    expect(r.runs.map((x) => x.code)).toEqual([0, 0]);
    // dc1 went first: its servers presented the new CA's certificates to dc2's, which trusted the old one alone.
    expect(r.violations).toContainEqual(expect.stringMatching(/dc2\/tls\/0 does not trust NEW-CA, which .*dc1\/tls\/\d presents/));
  });

  test('a rotation killed midway (dc1 at phase 2 with one server re-issued, dc2 at phase 1) converges on the next run, trust kept', async () => {
    const bundle = OLD + NEW;
    const r = await rotate({
      dc1: [{ ca: bundle, signedBy: 'NEW-CA' }, { ca: bundle, signedBy: 'OLD-CA' }, { ca: bundle, signedBy: 'OLD-CA' }],
      dc2: [{ ca: bundle, signedBy: 'OLD-CA' }],
    }, { kv: { 'dc1': 1 } });
    expect(r.runs.map((x) => x.code)).toEqual([0, 0]);
    expect(r.violations).toEqual([]);
    expect(r.servers).toEqual({ dc1: presents('dc1', 3, 'NEW-CA'), dc2: presents('dc2', 1, 'NEW-CA') });
    // Nobody trusted the new CA alone too early, and the bundles were not grown again.
    expect(r.calls.filter((c) => c.startsWith('reload'))).toHaveLength(4 + 4);
  });

  test('the next generation with the same CA: every certificate re-issued and reloaded once, the CA file untouched', async () => {
    const current = { ca: NEW, signedBy: 'NEW-CA' };
    const r = await rotate({ dc1: [current, current, current], dc2: [current] }, { generation: 2 });
    expect(r.runs.map((x) => x.code)).toEqual([0, 0]);
    expect(r.violations).toEqual([]);
    expect(r.calls.filter((c) => c.startsWith('sign'))).toHaveLength(4);
    expect(r.calls.filter((c) => c.startsWith('reload'))).toHaveLength(4);
  });
});

describe('what the library writes', () => {
  function supplied(props: { tlsGeneration?: number; previous?: boolean } = {}) {
    const stack = new TerraformStack(Testing.app(), 'test');
    const variable = (name: string, sensitive = false) => new TerraformVariable(stack, name, { type: 'string', sensitive }).stringValue;
    const fed = new ConsulFederation(stack, 'fed', {
      primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11', tlsGeneration: props.tlsGeneration,
      tls: { caCertificate: variable('ca'), caPrivateKey: variable('ca_key', true), ...(props.previous ? { previousCaCertificate: variable('old_ca') } : {}) },
    });
    return { stack, fed, json: synthJson(stack) };
  }

  test('one one-shot a datacenter, on its servers\' TLS volumes, after every server of the federation, with the CA uploaded and deleted', () => {
    const { json } = supplied();
    const rotation = resourceAt(json, 'docker_container', 'fed/dc2/TlsRotation');
    expect(rotation.name).toBe('consul-dc2-tls-rotation');
    // By reference: Terraform destroys the one-shot before the volumes it mounts (Docker refuses to remove a volume in use).
    expect(rotation.volumes).toEqual([{ container_path: '/tls/0', volume_name: `\${${addressOf(json, 'docker_volume', 'fed/dc2/Server0/Tls')}.name}` }]);
    expect(rotation.upload).toEqual([{ file: '/upload/ca.pem', content: '${var.ca}' }, { file: '/upload/ca-key.pem', content: '${var.ca_key}' }]);
    expect([...rotation.depends_on].sort()).toEqual(['dc1/Server0', 'dc1/Server1', 'dc1/Server2', 'dc2/Server0']
      .map((s) => addressOf(json, 'docker_container', `fed/${s}/Upgrade`)).sort());
    expect(rotation.command[0]).toContain("trap 'rm -f /upload/ca-key.pem' EXIT");
    expect(rotation.command[0]).toContain('for d in dc1 dc2;');
    expect(rotation.env).toEqual(['CONSUL_HTTP_ADDR=http://10.249.2.10:8500', 'CONSUL_HTTP_TOKEN=${var.fed_management_token}']);
  });

  test('a new generation changes the one-shots, and no server\'s container, step or configuration', () => {
    const before = supplied().json;
    const after = supplied({ tlsGeneration: 2 }).json;
    for (const id of ['dc1/Server0/Container', 'dc1/Server0/Upgrade', 'dc2/Server0/Container']) {
      expect(resourceAt(after, 'docker_container', `fed/${id}`)).toEqual(resourceAt(before, 'docker_container', `fed/${id}`));
    }
    expect(resourceAt(after, 'docker_container', 'fed/dc1/TlsRotation').command[0]).toContain('cut -c1-16) 2"');
    expect(resourceAt(after, 'docker_container', 'fed/dc1/Server1/IssueCertificate').command[0]).toContain('cut -c1-16) 2"');
  });

  test('the providers trust the CA being replaced too, while it is given', () => {
    expect(supplied().json.provider.consul.map((p: any) => p.ca_pem)).toEqual(['${var.ca}', '${var.ca}']);
    expect(supplied({ previous: true }).json.provider.consul.map((p: any) => p.ca_pem)).toEqual(Array(2).fill('${var.ca}\n${var.old_ca}'));
  });

  test('the federation\'s own CA: a new generation is a new CA in a volume of its own', () => {
    const ca = (tlsGeneration?: number) => {
      const stack = new TerraformStack(Testing.app(), 'test');
      const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], method: FederationMethod.meshGateways(), tlsGeneration });
      for (const dc of [fed.primary, ...fed.secondaries]) dc.addMeshGateway('gateway');
      const json = synthJson(stack);
      return [resourceAt(json, 'docker_volume', 'fed/CaVolume').name, resourceAt(json, 'docker_container', 'fed/dc2/TlsRotation').volumes[0],
        addressOf(json, 'docker_volume', 'fed/CaVolume')];
    };
    const [name, mount, address] = ca();
    expect([name, mount]).toEqual(['consul-ca', { container_path: '/ca', read_only: true, volume_name: `\${${address}.name}` }]);
    expect(ca(3)[0]).toBe('consul-ca-3');
  });

  test('bad input: a generation without TLS, not a whole number, or across stacks', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    expect(() => new DockerDatacenter(stack, 'plain', { name: 'dc1', tlsGeneration: 2 })).toThrow(
      'test/plain: tlsGeneration rotates the servers\' TLS certificates, and this datacenter\'s servers have none (got: 2). Remove tlsGeneration, or give the servers a CA (tls).');
    expect(() => new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }], tlsGeneration: 1.5 })).toThrow(
      'test/fed: tlsGeneration must be a whole number of at least 1 (got: 1.5). Use tlsGeneration: 1 (the default), and add one to rotate.');
  });
});
