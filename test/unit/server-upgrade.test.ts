// Rolling changes (lib/docker/server-upgrade.ts): a server keeps its
// container and runs the binary and configuration of its `bin` volume; each
// server's upgrade step carries the datacenter's image and the server's
// configuration, the steps of a datacenter run one after another, and what
// reads through the servers waits on them. The step's decisions run here for
// real in sh, with a `consul` that only prints a version, up to its first API
// call; the changes themselves are proven against real Consul in
// test/e2e/day2.test.ts.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConsulFederation } from '../../lib';
import { addressOf, newStack, resourceAt, synthJson, uploadedConfig } from '../support/synth';

function federation() {
  const stack = newStack();
  new ConsulFederation(stack, 'fed', { primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11' });
  return synthJson(stack);
}

test('a server runs the binary and configuration in its data volume, and neither a new image nor a new configuration replaces it', () => {
  const json = federation();
  const server = resourceAt(json, 'docker_container', 'fed/dc1/Server1/Container');
  expect(server.entrypoint).toEqual(['/bin/sh', '-c']);
  expect(server.command[0]).toContain('mkdir -p /consul/data/cmesh-bin; b=/consul/data/cmesh-bin/consul;');
  expect(server.command[0]).toContain('for f in server.json live.json; do if [ -f /consul/data/cmesh-bin/$f ]; then cp /consul/data/cmesh-bin/$f /consul/config/$f; fi; done');
  expect(server.command[0]).toContain('exec "$b" agent -config-dir=/consul/config');
  // One volume: a second (the binary's own, before) is one more object each destroy waits 2 s for.
  expect(server.volumes).toEqual([{ container_path: '/consul/data', volume_name: `\${${addressOf(json, 'docker_volume', 'fed/dc1/Server1/Data')}.name}` }]);
  expect(server.lifecycle.ignore_changes).toEqual(['image', 'upload']);
});

test('each server has an upgrade step of the datacenter\'s image and the server\'s configuration, after its container and the previous server\'s step', () => {
  const json = federation();
  for (const [dc, i] of [['dc1', 0], ['dc1', 1], ['dc1', 2], ['dc2', 0]] as const) {
    const server = resourceAt(json, 'docker_container', `fed/${dc}/Server${i}/Container`);
    const step = resourceAt(json, 'docker_container', `fed/${dc}/Server${i}/Upgrade`);
    expect(step).toMatchObject({
      name: `consul-${dc}-server-${i}-upgrade`,
      image: server.image,
      volumes: [{ container_path: '/consul/data', volume_name: `\${${addressOf(json, 'docker_volume', `fed/${dc}/Server${i}/Data`)}.name}` }],
      depends_on: [addressOf(json, 'docker_container', `fed/${dc}/Server${i}/Container`),
        ...(i > 0 ? [addressOf(json, 'docker_container', `fed/${dc}/Server${i - 1}/Upgrade`)] : [])],
      attach: true, logs: true, tty: true,
    });
    // A recreated server (a dead one a plain apply brings back) runs its step again, which waits until it is up.
    expect(step.lifecycle.replace_triggered_by).toEqual([addressOf(json, 'docker_container', `fed/${dc}/Server${i}/Container`)]);
    // Each variable once (an override would have appended to the list).
    expect(step.env.filter((e: string) => e.startsWith('CONSUL_HTTP_ADDR='))).toHaveLength(1);
    // Byte for byte what the container was created with: a server started on it needs nothing from its step.
    expect(step.env).toContain(`SERVER_CONFIG=${server.upload[0].content}`);
    // And what it takes running: the gossip key (for a first start), and a secondary's replication token, also handed over.
    expect(server.upload[1].file).toBe('/consul/config/live.json');
    expect(step.env).toContain(`LIVE_CONFIG=${server.upload[1].content}`);
    expect(JSON.parse(server.upload[1].content).encrypt).toBe('${var.fed_gossip_key}');
    const replication = step.env.filter((e: string) => e.startsWith('REPLICATION_TOKEN='));
    expect(replication).toEqual(dc === 'dc2' ? [expect.stringMatching(/^REPLICATION_TOKEN=\$\{data\.consul_acl_token_secret_id\.fed_ReplicationTokenSecret_\w+\.secret_id\}$/)] : []);
    // The datacenter's size decides when it is healthy enough for a server to go.
    expect(step.command[0]).toContain(`grep -c '"Healthy":true,"Voter":true')" -eq ${dc === 'dc1' ? 3 : 1} ]`);
    expect(step.command[0].includes('/v1/operator/autopilot/health?dc=dc1')).toBe(dc === 'dc2');
  }
  expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Upgrade').command[0]).toMatch(/primary\(\) \{ .*-eq 3 \]/);
  // What reads through a server waits on its step: its agent token, and every ACL and config entry.
  expect(resourceAt(json, 'consul_acl_token', 'fed/dc2/Server0/AgentToken').depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade')]);
});

test('a resize changes only what the servers that stay take without a restart: whom they join and how many they expect', () => {
  const env = (servers: number, at: string) => {
    const stack = newStack();
    new ConsulFederation(stack, 'fed', { primary: { name: 'dc1', servers }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11' });
    const step = resourceAt(synthJson(stack), 'docker_container', `fed/${at}/Upgrade`);
    const get = (name: string) => JSON.parse((step.env as string[]).find((e) => e.startsWith(`${name}=`))!.slice(name.length + 1));
    return { server: get('SERVER_CONFIG'), live: get('LIVE_CONFIG') };
  };
  for (const at of ['dc1/Server0', 'dc2/Server0']) {
    const [three, five] = [env(3, at), env(5, at)];
    // What a server restarts for is the same: it goes on running.
    expect(five.server).toEqual(three.server);
    expect(three.server).not.toHaveProperty('bootstrap_expect');
    expect(three.server).not.toHaveProperty('retry_join');
    expect(three.server).not.toHaveProperty('retry_join_wan');
    expect(five.live).not.toEqual(three.live);
  }
  expect([env(3, 'dc1/Server0').live, env(5, 'dc1/Server0').live]).toMatchObject([
    { bootstrap_expect: 3, retry_join: ['10.249.1.11', '10.249.1.12'] },
    { bootstrap_expect: 5, retry_join: ['10.249.1.11', '10.249.1.12', '10.249.1.13', '10.249.1.14'] },
  ]);
  // dc2's servers join the WAN through dc1's servers, whose number changed.
  expect(env(5, 'dc2/Server0').live.retry_join_wan).toHaveLength(5);
});

describe('the step\'s decisions, run in sh', () => {
  const json = federation();
  const step = resourceAt(json, 'docker_container', 'fed/dc1/Server1/Upgrade');
  const script = step.command[0] as string;
  const config = '{"node_name": "dc1-server-1"}';
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  const live = '{"encrypt": "new-key"}';

  /**
   * Runs the step with the image's Consul at `version`, the server last started as `running` (`<version> <config sha256>`),
   * and `replicationToken` to hand over. `consul` records what else it is asked (`calls`).
   */
  function run(running: string, version: string, replicationToken = '', serverUp = true, stepScript = script, failOnce = '') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-upgrade-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    // The step's tools, and a wget that knows only the leader (of a server that is up): a step that gets as far as
    // the rest of the API fails its first call at once.
    for (const tool of ['cat', 'cp', 'mv', 'rm', 'sed', 'tr', 'grep', 'head', 'cut', 'sleep', 'sha256sum']) {
      fs.symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), path.join(dir, 'bin', tool));
    }
    fs.writeFileSync(path.join(dir, 'bin', 'wget'), `#!/bin/sh
case "$*" in *:8500/v1/status/leader*) ${serverUp ? 'echo \'"10.249.1.10:8300"\'' : 'exit 4'} ;; *) exit 4 ;; esac
`, { mode: 0o755 });
    // With failOnce, the first call of that subcommand fails (a leader being elected): recorded, then exit 1.
    fs.writeFileSync(path.join(dir, 'bin', 'consul'), `#!/bin/sh\nif [ "$1" = version ]; then echo "Consul v${version}"; exit 0; fi\necho "$*" >> ${dir}/calls\n`
      + (failOnce ? `case "$*" in "${failOnce}"*) [ -f ${dir}/failed ] || { : > ${dir}/failed; exit 1; } ;; esac\n` : ''), { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'running'), `${running}\n`);
    // The volume's path, and one try at each wait.
    const local = stepScript.replace(/\/consul\/data\/cmesh-bin\//g, `${dir}/`).replace('cp /bin/consul', `cp ${dir}/bin/consul`).replace(/n -ge \d+/g, `n -ge ${failOnce ? 2 : 1}`);
    const r = spawnSync('/bin/sh', ['-c', local], { encoding: 'utf8', env: { PATH: path.join(dir, 'bin'), SERVER_CONFIG: config, LIVE_CONFIG: live, REPLICATION_TOKEN: replicationToken } });
    const read = (file: string) => (fs.existsSync(path.join(dir, file)) ? fs.readFileSync(path.join(dir, file), 'utf8') : undefined);
    const installed = { binary: fs.existsSync(path.join(dir, 'consul')), config: read('server.json') };
    const result = { code: r.status, out: r.stdout + r.stderr, installed, live: read('live.json'), calls: read('calls')?.trim().split('\n') ?? [] };
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
  }

  test('the version and configuration it runs already: nothing installed but what it takes running, no restart', () => {
    expect(run(`1.14.11 ${sha(config)}`, '1.14.11')).toEqual({
      code: 0, out: 'dc1-server-1 runs Consul 1.14.11 and its configuration\n', installed: { binary: false, config: undefined }, live, calls: [],
    });
  });

  test('waits until its server is up (a leader known) before anything else: what reads through the server waits on the step', () => {
    expect(run(`1.14.11 ${sha(config)}`, '1.14.11', 'the-new-token', false)).toEqual({
      code: 1, out: 'dc1-server-1 did not come up (a leader known) within 180 s\n', installed: { binary: false, config: undefined }, live: undefined, calls: [],
    });
  });

  test('a new replication token (a rotation) is handed to the running server, which is not restarted', () => {
    const r = run(`1.14.11 ${sha(config)}`, '1.14.11', 'the-new-token');
    expect(r).toMatchObject({ code: 0, installed: { binary: false, config: undefined }, live });
    expect(r.calls).toEqual(['acl set-agent-token replication the-new-token']);
    expect(r.out).not.toContain('the-new-token');
  });

  test.each([['1.14.11', '1.14.8'], ['1.15.0', '1.14.11'], ['2.0.0', '1.21.0']])('%s to %s is a downgrade: refused, nothing installed', (running, version) => {
    expect(run(`${running} ${sha(config)}`, version, 'the-new-token')).toEqual({
      code: 1, installed: { binary: false, config: undefined }, live: undefined, calls: [],
      out: `test/fed/dc1/Server1: dc1-server-1 runs Consul ${running}, and the image is Consul ${version}: a downgrade, which Consul does not support. `
        + `Nothing was changed. Use an image of Consul ${running} or newer.\n`,
    });
  });

  test('three minor versions at once: refused, with the version to go through first', () => {
    expect(run(`1.14.11 ${sha(config)}`, '1.17.0')).toEqual({
      code: 1, installed: { binary: false, config: undefined }, live: undefined, calls: [],
      out: 'test/fed/dc1/Server1: dc1-server-1 runs Consul 1.14.11, and the image is Consul 1.17.0, 3 minor versions ahead: Consul upgrades at most two at a time. '
        + 'Nothing was changed. Deploy an image of Consul 1.16.x first, then 1.17.0.\n',
    });
  });

  test.each([['1.14.8', '1.14.11'], ['1.14.11', '1.16.0']])('%s to %s goes ahead: binary and configuration installed, then it waits for a healthy datacenter', (running, version) => {
    const r = run(`${running} ${sha(config)}`, version);
    expect(r.installed).toEqual({ binary: true, config });
    expect(r.live).toBe(live);
    expect(r.out).toContain('datacenter not healthy with 3 voting servers, so dc1-server-1 was left as it is');
  });

  test('with serverStabilizationSeconds, the first server\'s step sets autopilot\'s stabilization time on every run, restarting nothing; without it, no step touches autopilot', () => {
    const stack = newStack();
    new ConsulFederation(stack, 'fed', {
      primary: { name: 'dc1', servers: 3, serverStabilizationSeconds: 3 }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11',
    });
    const steps = synthJson(stack);
    const first = resourceAt(steps, 'docker_container', 'fed/dc1/Server0/Upgrade').command[0] as string;
    const r = run(`1.14.11 ${sha(config)}`, '1.14.11', '', true, first);
    expect(r).toMatchObject({ code: 0, installed: { binary: false, config: undefined }, live });
    expect(r.calls).toEqual(['operator autopilot set-config -server-stabilization-time=3s']);
    // Retried: it goes through the leader, which a shrink may be moving (500, "lead thread didn't get connection").
    expect(run(`1.14.11 ${sha(config)}`, '1.14.11', '', true, first, 'operator autopilot set-config')).toMatchObject({
      code: 0, calls: ['operator autopilot set-config -server-stabilization-time=3s', 'operator autopilot set-config -server-stabilization-time=3s'],
    });
    // Also on the way to a restart (the live part comes first).
    expect(run(`1.14.8 ${sha(config)}`, '1.14.11', '', true, first).calls).toEqual(['operator autopilot set-config -server-stabilization-time=3s']);
    // One step a datacenter sets it (the setting is the datacenter's); dc2 has none of its own.
    for (const id of ['fed/dc1/Server1/Upgrade', 'fed/dc1/Server2/Upgrade', 'fed/dc2/Server0/Upgrade']) {
      expect(resourceAt(steps, 'docker_container', id).command[0]).not.toContain('autopilot set-config');
    }
    for (const id of ['fed/dc1/Server0/Upgrade', 'fed/dc1/Server1/Upgrade', 'fed/dc2/Server0/Upgrade']) {
      expect(resourceAt(json, 'docker_container', id).command[0]).not.toContain('autopilot set-config');
    }
  });

  test('the same version with another configuration goes ahead the same way', () => {
    const r = run(`1.14.11 ${sha('{"node_name": "dc1-server-1", "log_level": "DEBUG"}')}`, '1.14.11');
    expect(r.installed).toEqual({ binary: true, config });
    expect(r.out).toContain('datacenter not healthy with 3 voting servers');
  });
});

test('a server leaves when stopped (removed by a shrink, or destroyed), a leader handing leadership over first; the grace is a ceiling of 1 s, none for the primary\'s first server', () => {
  const json = federation();
  for (const id of ['fed/dc1/Server2/Container', 'fed/dc2/Server0/Container']) {
    const server = resourceAt(json, 'docker_container', id);
    expect(uploadedConfig(server)).toMatchObject({ leave_on_terminate: true });
    // Consul's 5 s drain kept: it serves the reads in flight when an upgrade step makes the server leave.
    expect(uploadedConfig(server).performance.leave_drain_time).toBeUndefined();
    expect(server.destroy_grace_seconds).toBe(1);
  }
  // The primary's first server is never removed alone: it leaves too (one configuration for all), but is not waited for.
  const first = resourceAt(json, 'docker_container', 'fed/dc1/Server0/Container');
  expect(uploadedConfig(first)).toMatchObject({ leave_on_terminate: true });
  expect(first.destroy_grace_seconds).toBe(0);
});
