// Rotations by one prop change: the gossip key (the keyring one-shot, its
// script run in sh against a fake `consul` that keeps a keyring), and the
// replication and gateway tokens (a generation the token is replaced on,
// new before old).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConsulFederation, DockerDatacenter, ExistingDatacenter, MeshGateway } from '../../lib';
import { keyringScript } from '../../lib/docker/gossip-keyring';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';

/** The logical id cdktf gives a resource at `path` (under the stack), as the library's `removed` blocks name it. */
function logicalIdAt(stack: TerraformStack, path: string): string {
  const probe = new TerraformStack(new App(), stack.node.id);
  let scope: Construct = probe;
  for (const id of path.split('/')) scope = new Construct(scope, id);
  return probe.getLogicalId(scope.node);
}

function federation(props: { replicationTokenGeneration?: number } = {}) {
  const stack = newStack();
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11', ...props });
  return { stack, fed };
}

describe('the gossip key', () => {
  test('is rotated by one one-shot in the primary, after every server of every datacenter, with the key from the environment', () => {
    const { stack } = federation();
    const json = synthJson(stack);
    const keyring = resourceAt(json, 'docker_container', 'fed/dc1/GossipKeyring');
    expect(keyring.name).toBe('consul-dc1-gossip-keyring');
    expect(keyring.env).toEqual(['CONSUL_HTTP_ADDR=http://10.249.1.10:8500', 'CONSUL_HTTP_TOKEN=${var.fed_management_token}', 'GOSSIP_KEY=${var.fed_gossip_key}']);
    expect([...keyring.depends_on].sort()).toEqual(['dc1/Server0', 'dc1/Server1', 'dc1/Server2', 'dc2/Server0']
      .map((s) => addressOf(json, 'docker_container', `fed/${s}/Upgrade`)).sort());
    // Its output is not kept in state: it holds nothing secret, but nothing needs it there.
    expect(keyring.logs).toBeUndefined();
    expect(() => resourceAt(json, 'docker_container', 'fed/dc2/GossipKeyring')).toThrow();
  });

  test('a datacenter on its own rotates its own', () => {
    const stack = newStack();
    new DockerDatacenter(stack, 'dc', { name: 'solo' });
    expect(resourceAt(synthJson(stack), 'docker_container', 'dc/GossipKeyring').name).toBe('consul-solo-gossip-keyring');
  });

  describe('the rotation, run in sh', () => {
    const OLD = 'b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xkb2w=';
    const NEW = 'bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmU=';

    /**
     * A `consul keyring` that keeps, per pool (WAN, dc1 LAN, dc2 LAN), the installed keys, the
     * primary key and how many members have each; `-remove` of the primary key fails, as Consul's does.
     */
    function run(pools: Record<string, string[]>, members: Record<string, number>, primary: string, options: { failOnce?: string; tries?: number } = {}) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-keyring-'));
      fs.writeFileSync(path.join(dir, 'keys'), Object.entries(pools).flatMap(([pool, keys]) => keys.map((k) => `${pool} ${k}`)).join('\n') + '\n');
      fs.writeFileSync(path.join(dir, 'primary'), primary);
      const consul = `#!/bin/sh
echo "$*" >> ${dir}/calls
k=${dir}/keys
# A member that does not answer in time, once, for the operation named by FAIL_ONCE.
if [ "$2" = "$FAIL_ONCE" ] && [ ! -e ${dir}/failed ]; then touch ${dir}/failed; echo "Error: 1 error occurred: WAN error: 5/6 nodes reported success" >&2; exit 1; fi
case "$2" in
  -list) for p in WAN dc1 dc2; do echo; echo "$p:"; n=$(eval echo "\\$M_$p"); grep "^$p " $k | while read -r _ key; do echo "  $key [$n/$n]"; done; done ;;
  -install) for p in WAN dc1 dc2; do grep -q "^$p $3$" $k || echo "$p $3" >> $k; done ;;
  -use) grep -q " $3$" $k || exit 1; echo "$3" > ${dir}/primary ;;
  -remove) [ "$(cat ${dir}/primary)" = "$3" ] && { echo "cannot remove the primary key" >&2; exit 1; }; grep -v " $3$" $k > $k.new; mv $k.new $k ;;
esac
`;
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.writeFileSync(path.join(dir, 'bin', 'consul'), consul, { mode: 0o755 });
      const local = keyringScript().replace(/n -ge \d+/g, `n -ge ${options.tries ?? 1}`).replace(/sleep 0\.5/g, 'sleep 0');
      const r = spawnSync('/bin/sh', ['-c', local], { encoding: 'utf8', env: { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, GOSSIP_KEY: NEW, FAIL_ONCE: options.failOnce ?? '', ...Object.fromEntries(Object.entries(members).map(([p, n]) => [`M_${p}`, String(n)])) } });
      const keys = fs.readFileSync(path.join(dir, 'keys'), 'utf8').trim().split('\n').sort();
      const result = { code: r.status, out: r.stdout + r.stderr, keys, primary: fs.readFileSync(path.join(dir, 'primary'), 'utf8').trim(),
        calls: fs.existsSync(path.join(dir, 'calls')) ? fs.readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : [] };
      fs.rmSync(dir, { recursive: true, force: true });
      return result;
    }
    const members = { WAN: 2, dc1: 3, dc2: 1 };
    const everywhere = (...keys: string[]) => ({ WAN: keys, dc1: keys, dc2: keys });
    const only = (key: string) => ['WAN', 'dc1', 'dc2'].map((p) => `${p} ${key}`).sort();

    test('every agent on the configured key alone: nothing to do', () => {
      expect(run(everywhere(NEW), members, NEW)).toEqual({
        code: 0, out: 'every agent uses the configured gossip key, and only it\n', keys: only(NEW), primary: NEW, calls: ['keyring -list'],
      });
    });

    test('a new key: installed, made primary, the old one removed, in that order, and checked; no key is printed', () => {
      const r = run(everywhere(OLD), members, OLD);
      expect(r).toMatchObject({ code: 0, keys: only(NEW), primary: NEW });
      expect(r.calls.filter((c) => c !== 'keyring -list')).toEqual([`keyring -install ${NEW}`, `keyring -use ${NEW}`, `keyring -remove ${OLD}`]);
      expect(r.out).not.toContain(NEW);
      expect(r.out).not.toContain(OLD);
    });

    test('a rotation killed after -use converges on the next run (old keys removed, from every pool)', () => {
      const r = run(everywhere(OLD, NEW), members, NEW);
      expect(r).toMatchObject({ code: 0, keys: only(NEW), primary: NEW });
    });

    test.each(['-install', '-use', '-remove', '-list'])('a member that does not answer %s once (a server just stopped): the rotation is tried again and completes', (op) => {
      const r = run(everywhere(OLD), members, OLD, { failOnce: op, tries: 3 });
      expect(r).toMatchObject({ code: 0, keys: only(NEW), primary: NEW });
      expect(r.calls.filter((c) => c === `keyring -install ${NEW}`).length).toBe(op === '-list' ? 1 : 2);
    });

    test('two rotations in a row, the first cut short: every stale key goes', () => {
      const third = 'dGhpcmR0aGlyZHRoaXJkdGhpcmR0aGlyZHRoaXJkdGg=';
      const r = run({ WAN: [OLD, third], dc1: [OLD, third], dc2: [third] }, members, third);
      expect(r).toMatchObject({ code: 0, keys: only(NEW), primary: NEW });
    });
  });
});

describe('token generations', () => {
  test('generation 1 is the token as it always was: no retirement, nothing forgotten', () => {
    const { stack } = federation();
    const json = synthJson(stack);
    expect(resourceAt(json, 'consul_acl_token', 'fed/ReplicationToken').lifecycle).toBeUndefined();
    expect(json.removed).toBeUndefined();
    expect(Object.values<any>(json.resource.docker_container).filter((c) => c.name.endsWith('-retire-tokens'))).toEqual([]);
  });

  test('the replication token\'s next generation is a new token; OpenTofu forgets the earlier ones, and a one-shot deletes them after every secondary holds the new one', () => {
    const { stack } = federation({ replicationTokenGeneration: 3 });
    const json = synthJson(stack);
    const token = resourceAt(json, 'consul_acl_token', 'fed/ReplicationTokenGeneration3');
    // No create_before_destroy: it would spread to the servers' steps and containers, whose names a second copy cannot take.
    expect(token.lifecycle).toBeUndefined();
    // Generations 1 and 2, at the addresses they had.
    expect(json.removed).toEqual(['fed/ReplicationToken', 'fed/ReplicationTokenGeneration2'].map((p) => ({
      from: `consul_acl_token.${logicalIdAt(stack, p)}`, lifecycle: { destroy: false },
    })));
    const retire = resourceAt(json, 'docker_container', 'fed/RetireTokens');
    expect(retire.name).toBe('consul-dc1-replication-retire-tokens');
    expect(retire.env).toEqual(expect.arrayContaining(['DESCRIPTION=ACL replication for secondary datacenters', `KEEP=\${${addressOf(json, 'consul_acl_token', 'fed/ReplicationTokenGeneration3')}.accessor_id}`]));
    expect(retire.depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade')]);
    // Handed to the secondary's running server by its step (recreated with the new secret), not by a restart.
    expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Upgrade').env).toContain(`REPLICATION_TOKEN=\${${addressOf(json, 'data.consul_acl_token_secret_id', 'fed/ReplicationTokenSecret')}.secret_id}`);
  });

  test('a gateway\'s token likewise, deleted once every replica is registered with the new one; its Envoy restarts on the new registration', () => {
    const stack = newStack();
    const dc = new DockerDatacenter(stack, 'dc', { name: 'dc1' });
    new MeshGateway(stack, 'gw', { datacenter: dc, tokenGeneration: 2, replicas: 2 });
    const json = synthJson(stack);
    resourceAt(json, 'consul_acl_token', 'gw/Acl/TokenGeneration2');
    expect(json.removed).toEqual([{ from: `consul_acl_token.${logicalIdAt(stack, 'gw/Acl/Token')}`, lifecycle: { destroy: false } }]);
    const retire = resourceAt(json, 'docker_container', 'gw/RetireTokens');
    expect(retire.name).toBe('consul-dc1-mesh-gateway-retire-tokens');
    expect(retire.env).toContain('DESCRIPTION=Mesh gateway mesh-gateway in dc1');
    expect(retire.depends_on).toEqual([0, 1].map((r) => addressOf(json, 'docker_container', `gw/Replica${r}/Registration`)));
    expect(resourceAt(json, 'docker_container', 'gw/Replica0/Envoy').lifecycle).toEqual({
      replace_triggered_by: [addressOf(json, 'docker_container', 'gw/Replica0/Registration')],
    });
  });

  test('the retiring one-shot, run in sh: deletes every token of the description but the one to keep, and prints no secret', () => {
    const stack = newStack();
    const dc = new DockerDatacenter(stack, 'dc', { name: 'dc1' });
    new MeshGateway(stack, 'gw', { datacenter: dc, tokenGeneration: 3 });
    const script = resourceAt(synthJson(stack), 'docker_container', 'gw/RetireTokens').command[0];
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-retire-'));
    const token = (accessor: string, description: string) =>
      `AccessorID:       ${accessor}\nSecretID:         secret-of-${accessor}\nDescription:      ${description}\nLocal:            false\nPolicies:\n   00000000 - mesh-gateway-dc1\n`;
    const list = [token('a-1', 'Mesh gateway mesh-gateway in dc1'), token('a-2', 'Mesh gateway mesh-gateway in dc1'), token('a-3', 'Mesh gateway mesh-gateway in dc1'),
      token('b-1', 'Mesh gateway mesh-gateway in dc2'), token('c-1', 'Mesh gateway mesh-gateway in dc1 (copy)')].join('\n');
    fs.writeFileSync(path.join(dir, 'list'), list);
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(path.join(dir, 'bin', 'consul'), `#!/bin/sh\ncase "$3" in list) cat ${dir}/list ;; delete) echo "$5" >> ${dir}/deleted ;; esac\n`, { mode: 0o755 });
    const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8',
      env: { PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`, DESCRIPTION: 'Mesh gateway mesh-gateway in dc1', KEEP: 'a-3' } });
    const deleted = fs.readFileSync(path.join(dir, 'deleted'), 'utf8').trim().split('\n');
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(0);
    expect(deleted).toEqual(['a-1', 'a-2']);
    expect(r.stdout).toBe('deleted token a-1\ndeleted token a-2\n');
    expect(r.stdout + r.stderr).not.toContain('secret-of');
  });

  test('where the operator runs the gateway, OpenTofu deletes the old token itself', () => {
    const stack = newStack();
    const dc = new ExistingDatacenter(stack, 'dc', { name: 'dc1', address: '127.0.0.1:8500' });
    new MeshGateway(stack, 'gw', { datacenter: dc, tokenGeneration: 2 });
    const json = synthJson(stack);
    resourceAt(json, 'consul_acl_token', 'gw/Acl/TokenGeneration2');
    expect(json.removed).toBeUndefined();
    expect(json.resource.docker_container).toBeUndefined();
  });

  test.each([[0], [1.5], [-1]])('generation %p is refused with the path, the value and the fix', (generation) => {
    const stack = newStack();
    const dc = new DockerDatacenter(stack, 'dc', { name: 'dc1' });
    expect(() => new MeshGateway(stack, 'gw', { datacenter: dc, tokenGeneration: generation }))
      .toThrow(new RegExp(`^test/gw: tokenGeneration must be a whole number of at least 1.*${String(generation).replace('.', '\\.')}.*add one to rotate`, 's'));
    expect(() => federation({ replicationTokenGeneration: generation })).toThrow(/test\/fed: replicationTokenGeneration must be a whole number/);
  });
});
