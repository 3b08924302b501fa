// Rolling upgrades (lib/docker/server-upgrade.ts): a server keeps its
// container and runs the binary of its `bin` volume; each server's upgrade
// step carries the datacenter's image, and what reads through the servers
// waits on those steps. The step's refusals run here for real in sh, with a
// `consul` that only prints a version; the upgrade itself is proven against
// real Consul in test/e2e/day2.test.ts.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConsulFederation } from '../../lib';
import { addressOf, newStack, resourceAt, synthJson } from '../support/synth';

function federation() {
  const stack = newStack();
  new ConsulFederation(stack, 'fed', { primary: { name: 'dc1', servers: 3 }, secondaries: [{ name: 'dc2' }], image: 'hashicorp/consul:1.14.11' });
  return synthJson(stack);
}

test('a server runs the binary of its bin volume, and a new image does not replace it', () => {
  const json = federation();
  const server = resourceAt(json, 'docker_container', 'fed/dc1/Server1/Container');
  expect(server.entrypoint).toEqual(['/bin/sh', '-c']);
  expect(server.command[0]).toContain('exec "$b" agent -config-dir=/consul/config');
  expect(server.volumes).toContainEqual({ container_path: '/consul/bin', volume_name: `\${${addressOf(json, 'docker_volume', 'fed/dc1/Server1/Bin')}.name}` });
  expect(server.lifecycle.ignore_changes).toEqual(['image']);
});

test('each server has an upgrade step of the datacenter\'s image, on its bin volume, after its container; a secondary\'s waits for the primary\'s three servers', () => {
  const json = federation();
  for (const [dc, i] of [['dc1', 0], ['dc1', 1], ['dc1', 2], ['dc2', 0]] as const) {
    const step = resourceAt(json, 'docker_container', `fed/${dc}/Server${i}/Upgrade`);
    expect(step).toMatchObject({
      name: `consul-${dc}-server-${i}-upgrade`,
      image: resourceAt(json, 'docker_container', `fed/${dc}/Server${i}/Container`).image,
      volumes: [{ container_path: '/upgrade', volume_name: `\${${addressOf(json, 'docker_volume', `fed/${dc}/Server${i}/Bin`)}.name}` }],
      depends_on: [addressOf(json, 'docker_container', `fed/${dc}/Server${i}/Container`)],
      attach: true, logs: true, tty: true,
    });
    // The datacenter's size decides when it is healthy enough for the next server to go.
    expect(step.command[0]).toContain(`grep -c '"Healthy":true,"Voter":true')" -eq ${dc === 'dc1' ? 3 : 1} ]`);
    expect(step.command[0].includes('/v1/operator/autopilot/health?dc=dc1')).toBe(dc === 'dc2');
  }
  expect(resourceAt(json, 'docker_container', 'fed/dc2/Server0/Upgrade').command[0]).toMatch(/primary\(\) \{ .*-eq 3 \]/);
  // What reads through a server waits on its step: its agent token, and every ACL and config entry.
  expect(resourceAt(json, 'consul_acl_token', 'fed/dc2/Server0/AgentToken').depends_on).toEqual([addressOf(json, 'docker_container', 'fed/dc2/Server0/Upgrade')]);
});

describe('the step\'s refusals, run in sh', () => {
  const json = federation();
  const script = resourceAt(json, 'docker_container', 'fed/dc1/Server1/Upgrade').command[0] as string;

  /** Runs the step with the image's Consul at `target` and the server last started on `running`, up to its first API call. */
  function run(running: string, target: string) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-upgrade-'));
    fs.mkdirSync(path.join(dir, 'bin'));
    // The step's tools, and no wget: a step that gets as far as the API fails its first call at once.
    for (const tool of ['cat', 'cp', 'mv', 'sed', 'tr', 'grep', 'sort', 'head', 'cut', 'sleep']) {
      fs.symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), path.join(dir, 'bin', tool));
    }
    fs.writeFileSync(path.join(dir, 'bin', 'consul'), `#!/bin/sh\necho "Consul v${target}"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'running'), `${running}\n`);
    // The volume's path, and one try at each wait.
    const local = script.replace(/\/upgrade\//g, `${dir}/`).replace('cp /bin/consul', `cp ${dir}/bin/consul`).replace(/n -ge \d+/g, 'n -ge 1');
    const r = spawnSync('/bin/sh', ['-c', local], { encoding: 'utf8', env: { PATH: path.join(dir, 'bin') } });
    const copied = fs.existsSync(path.join(dir, 'consul'));
    fs.rmSync(dir, { recursive: true, force: true });
    return { code: r.status, out: r.stdout + r.stderr, copied };
  }

  test('the version it runs already: done at once, nothing copied', () => {
    expect(run('1.14.11', '1.14.11')).toEqual({ code: 0, out: 'dc1-server-1 runs Consul 1.14.11\n', copied: false });
  });

  test.each([['1.14.11', '1.14.8'], ['1.15.0', '1.14.11'], ['2.0.0', '1.21.0']])('%s to %s is a downgrade: refused, nothing copied', (running, target) => {
    expect(run(running, target)).toEqual({
      code: 1, copied: false,
      out: `test/fed/dc1/Server1: dc1-server-1 runs Consul ${running}, and the image is Consul ${target}: a downgrade, which Consul does not support. `
        + `Nothing was changed. Use an image of Consul ${running} or newer.\n`,
    });
  });

  test('three minor versions at once: refused, with the version to go through first', () => {
    expect(run('1.14.11', '1.17.0')).toEqual({
      code: 1, copied: false,
      out: 'test/fed/dc1/Server1: dc1-server-1 runs Consul 1.14.11, and the image is Consul 1.17.0, 3 minor versions ahead: Consul upgrades at most two at a time. '
        + 'Nothing was changed. Deploy an image of Consul 1.16.x first, then 1.17.0.\n',
    });
  });

  test.each([['1.14.8', '1.14.11'], ['1.14.11', '1.16.0']])('%s to %s goes ahead: the binary is copied, then it waits for its turn', (running, target) => {
    const r = run(running, target);
    expect(r.copied).toBe(true);
    expect(r.out).toContain('dc1-server-1\'s turn did not come');
  });
});
