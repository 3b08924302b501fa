// Deploy time of the library's federated pair against the same deployment by
// hand (bench/deploy-plain.sh), on the project's own Docker engine, in one run
// with the variants interleaved. Prints medians and ratios; asserts nothing.
//
// The library's stack is applied and destroyed by real OpenTofu with the two
// providers it pins (tools/build.sh), `init` done once before timing, as a
// user's second and later deploys would be: each timed apply includes
// Terraform's own plan, provider start-up, refresh and health waits.
import { spawn, spawnSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { FederatedPair } from '../examples/federated-pair/main';
import { AppDeployment, DockerDeployment } from '../test/support/docker-deployment';
import { DockerEngine, ensureConsulImage, startDockerEngine } from '../test/support/docker-engine';
import { mergeConfig } from '../test/support/synth';
import { requireTool } from '../test/support/tools';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PLAIN = path.join(__dirname, 'deploy-plain.sh');

type Json = Record<string, any>;

type Variant = 'library' | 'split' | 'plain' | 'floor' | 'splitFloor';

/** The stack with only its networks, volumes and images (and the providers). */
function floorOf(stack: Json): Json {
  const keep = ['docker_network', 'docker_volume', 'docker_image'];
  // Only the docker provider: the Consul side's consul providers read the servers' stack's outputs (its remote state).
  return {
    ...stack, resource: Object.fromEntries(Object.entries(stack.resource).filter(([type]) => keep.includes(type))), data: undefined, output: undefined, locals: undefined,
    provider: { docker: stack.provider.docker },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

async function time(fn: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** One resource of the synthesized stack by type and construct-path prefix. */
function find(stack: Json, type: string, prefix: string): Json {
  const byId = stack.resource[type];
  const id = Object.keys(byId).find((k) => k.startsWith(prefix));
  if (!id) throw new Error(`no ${type} ${prefix}* in the stack`);
  return byId[id];
}

/**
 * Writes what the plain script uploads and sends, taken from the synthesized
 * stack so both variants deploy the same content: the agent configs with the
 * variables substituted (dc2's replication token secret left as a placeholder
 * the script fills in), the policies' rules and the config entries.
 */
function writePlainInputs(stack: Json, vars: Record<string, string>, dir: string): void {
  const substitute = (s: string) => s
    .replace(/\$\{var\.([A-Za-z0-9_]+)\}/g, (_m, v) => vars[v])
    .replace(/\$\{data\.consul_acl_token_secret_id\.fed_ReplicationTokenSecret_[0-9A-F]+\.secret_id\}/, '@@REPLICATION_SECRET@@');
  for (const dc of ['dc1', 'dc2']) {
    // server.json and live.json in one file: the agent merges its config dir the same way.
    const [server, live] = (find(stack, 'docker_container', `fed_${dc}_Server0_Container`).upload as Json[]).map((u) => JSON.parse(substitute(u.content)));
    const content = JSON.stringify(mergeConfig(server, live), null, 2);
    if (content.includes('${')) throw new Error(`${dc} config keeps an expression the plain script cannot fill in`);
    fs.writeFileSync(path.join(dir, `${dc}.json`), content);
  }
  fs.writeFileSync(path.join(dir, 'rules-replication.hcl'), find(stack, 'consul_acl_policy', 'fed_ReplicationPolicy').rules);
  for (const dc of ['dc1', 'dc2']) {
    fs.writeFileSync(path.join(dir, `rules-gateway-${dc}.hcl`), find(stack, 'consul_acl_policy', `fed_${dc}_gateway_Acl_Policy`).rules);
  }
  for (const [prefix, file] of [['proxy-defaults_dc1_global', 'entry-proxy-defaults.json'], ['service-defaults_dc1_api', 'entry-api.json']]) {
    const entry = find(stack, 'consul_config_entry', prefix);
    fs.writeFileSync(path.join(dir, file), JSON.stringify({ Kind: entry.kind, Name: entry.name, ...JSON.parse(entry.config_json) }));
  }
}

function runPlain(engine: DockerEngine, image: string, configDir: string, token: string, action: 'up' | 'down'): Promise<void> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')));
  Object.assign(env, { DOCKER_HOST: engine.host, DOCKER_CONFIG: path.join(configDir, 'client'), IMAGE: image, CONFIG_DIR: configDir, MGMT_TOKEN: token });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PLAIN, action], { env, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`deploy-plain.sh ${action}: exit ${code}\n${stderr}`))));
  });
}

const EXPECTED_POLICIES = ['builtin/global-read-only', 'consul-acl-replication', 'global-management', 'mesh-gateway-dc1', 'mesh-gateway-dc2'];

/** What both variants must leave behind: every server healthy, every one-shot exited 0, the same Consul objects. */
async function check(engine: DockerEngine, token: string, variant: string): Promise<void> {
  const states = (await engine.mustDocker(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Status}}'])).split('\n').sort();
  const bad = states.filter((l) => !/^consul-dc[12]-server-0 running /.test(l) && !/ exited Exited \(0\)/.test(l));
  // The plain script: 2 servers and 4 one-shots. The library adds each server's upgrade step and the primary's gossip
  // keyring one-shot; in two stacks dc2's server gets both its tokens from one one-shot, after the replication token exists.
  const expected: Record<string, number> = { plain: 6, library: 9, split: 9 };
  if (states.length !== expected[variant] || bad.length > 0) throw new Error(`${variant}: unexpected containers:\n${states.join('\n')}`);
  const consul = (dc: string, args: string[]) => engine.mustDocker(['exec', '-e', `CONSUL_HTTP_TOKEN=${token}`, `consul-${dc}-server-0`, 'consul', ...args]);
  const policies = JSON.parse(await consul('dc1', ['acl', 'policy', 'list', '-format=json'])).map((p: Json) => p.Name).sort();
  const tokens = JSON.parse(await consul('dc1', ['acl', 'token', 'list', '-format=json'])).length;
  const entries = [await consul('dc1', ['config', 'list', '-kind', 'proxy-defaults']), await consul('dc1', ['config', 'list', '-kind', 'service-defaults'])];
  const gateways = [await consul('dc1', ['catalog', 'services']), await consul('dc2', ['catalog', 'services'])];
  const got = { policies, tokens, entries, gateways: gateways.map((g) => g.split('\n').includes('mesh-gateway')) };
  const want = { policies: EXPECTED_POLICIES, tokens: 7, entries: ['global', 'api'], gateways: [true, true] };
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${variant}: deployed ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

async function main(): Promise<void> {
  const consulBin = requireTool('consul');
  const token = randomUUID();
  const vars = { fed_management_token: token, fed_gossip_key: spawnSync(consulBin, ['keygen'], { encoding: 'utf8' }).stdout.trim() };
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-bench-'));
  const engine = await startDockerEngine();
  let deployment: DockerDeployment | undefined;
  let floor: DockerDeployment | undefined;
  let split: AppDeployment | undefined;
  let splitFloor: DockerDeployment[] = [];
  try {
    const image = await ensureConsulImage(engine, consulBin);
    // One stack (servers and Consul side together), and the example's default: the servers' stack, then the Consul side.
    const stack = JSON.parse(Testing.synth(new FederatedPair(Testing.app(), 'pair', { image, startEnvoy: false, separateServers: false }), true));
    const app = Testing.app();
    new FederatedPair(app, 'pair', { image, startEnvoy: false });
    split = new AppDeployment(engine, app, vars);
    writePlainInputs(stack, vars, configDir);

    const results: Record<Variant, { apply: number[]; destroy: number[] }> = {
      library: { apply: [], destroy: [] }, split: { apply: [], destroy: [] }, plain: { apply: [], destroy: [] }, floor: { apply: [], destroy: [] },
      splitFloor: { apply: [], destroy: [] },
    };
    deployment = new DockerDeployment(engine, stack, vars);
    // The same stack's networks, volumes and image alone: what OpenTofu and the
    // docker provider cost before any container runs (the provider waits 2 s
    // after creating, refreshing or deleting a network, and deleting a volume).
    floor = new DockerDeployment(engine, floorOf(stack), vars);
    // The same for the two stacks: what OpenTofu and the provider cost the default layout (a second run, its own waits).
    splitFloor = split.stacks.map(({ json }) => new DockerDeployment(engine, floorOf(json), vars));
    const variants = {
      library: {
        up: async () => { await deployment!.apply(); },
        down: async () => { await deployment!.destroy(); },
      },
      split: {
        up: async () => { await split!.apply(); },
        down: async () => { await split!.destroy(); },
      },
      plain: {
        up: () => runPlain(engine, image, configDir, token, 'up'),
        down: () => runPlain(engine, image, configDir, token, 'down'),
      },
      floor: {
        up: async () => { await floor!.apply(); },
        down: async () => { await floor!.destroy(); },
      },
      splitFloor: {
        up: async () => { for (const d of splitFloor) await d.apply(); },
        down: async () => { for (const d of [...splitFloor].reverse()) await d.destroy(); },
      },
    };
    // A clean engine (whatever an interrupted run left), and providers installed once.
    await deployment.clearEngine();
    await deployment.workspace.init();
    await floor.workspace.init();
    for (const d of splitFloor) await d.workspace.init();
    await split.init();
    await runPlain(engine, image, configDir, token, 'down');

    for (let run = 0; run < RUNS; run++) {
      // Interleaved, alternating which goes first.
      const order: Variant[] = run % 2 === 0 ? ['library', 'split', 'plain', 'floor', 'splitFloor'] : ['splitFloor', 'floor', 'plain', 'split', 'library'];
      for (const v of order) {
        const apply = await time(variants[v].up);
        if (v !== 'floor' && v !== 'splitFloor') await check(engine, token, v);
        const destroy = await time(variants[v].down);
        const left = await engine.mustDocker(['ps', '-aq']) + await engine.mustDocker(['volume', 'ls', '-q']);
        if (left !== '') throw new Error(`${v}: destroy left ${left}`);
        results[v].apply.push(apply);
        results[v].destroy.push(destroy);
        process.stderr.write(`run ${run + 1} ${v.padEnd(10)} apply ${secs(apply)}  destroy ${secs(destroy)}\n`);
      }
    }

    const m = (v: Variant, k: 'apply' | 'destroy') => median(results[v][k]);
    console.log(`\nfederated pair (WAN gossip, startEnvoy false), ${RUNS} runs each, interleaved, on the project's own dockerd`);
    console.log(`  apply to healthy   tofu apply (one stack)     median ${secs(m('library', 'apply'))}  [${results.library.apply.map(secs).join(', ')}]`);
    console.log(`                     plain docker script        median ${secs(m('plain', 'apply'))}  [${results.plain.apply.map(secs).join(', ')}]`);
    console.log(`                     ratio library / plain      ${(m('library', 'apply') / m('plain', 'apply')).toFixed(2)}`);
    console.log(`  two stacks         (the example's default) apply median ${secs(m('split', 'apply'))}, ratio to plain ${(m('split', 'apply') / m('plain', 'apply')).toFixed(2)}; `
      + `destroy median ${secs(m('split', 'destroy'))}, ratio ${(m('split', 'destroy') / m('plain', 'destroy')).toFixed(2)}`);
    console.log(`  destroy            tofu destroy median ${secs(m('library', 'destroy'))}  [${results.library.destroy.map(secs).join(', ')}]`);
    console.log(`                     plain        median ${secs(m('plain', 'destroy'))}  [${results.plain.destroy.map(secs).join(', ')}]`);
    console.log(`                     ratio library / plain      ${(m('library', 'destroy') / m('plain', 'destroy')).toFixed(2)}`);
    console.log(`  provider floor     networks, volumes, image only: apply median ${secs(m('floor', 'apply'))}, destroy median ${secs(m('floor', 'destroy'))}`);
    const overFloor = (v: Variant, base: Variant, k: 'apply' | 'destroy') => ((m(v, k) - m(base, k)) / m('plain', k)).toFixed(2);
    console.log(`                     two stacks' networks, volumes, images: apply median ${secs(m('splitFloor', 'apply'))}, destroy median ${secs(m('splitFloor', 'destroy'))}`);
    console.log(`  (library minus floor) / plain, one stack:                   apply ${overFloor('library', 'floor', 'apply')}, destroy ${overFloor('library', 'floor', 'destroy')}`);
    console.log(`                                 two stacks (one-stack floor): apply ${overFloor('split', 'floor', 'apply')}, destroy ${overFloor('split', 'floor', 'destroy')}`);
    console.log(`                                 two stacks (their own floor): apply ${overFloor('split', 'splitFloor', 'apply')}, destroy ${overFloor('split', 'splitFloor', 'destroy')}`);
  } finally {
    try {
      await deployment?.destroy().catch(() => undefined);
      await floor?.destroy().catch(() => undefined);
      await split?.destroy().catch(() => undefined);
      for (const d of [...splitFloor].reverse()) await d.destroy().catch(() => undefined);
      await deployment?.clearEngine().catch(() => undefined);
    } finally {
      await engine.stop();
      fs.rmSync(configDir, { recursive: true, force: true });
      deployment?.workspace.remove();
      floor?.workspace.remove();
      split?.remove();
      for (const d of splitFloor) d.workspace.remove();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
