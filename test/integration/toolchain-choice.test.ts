// What `npm run up` uses of the user's machine and what it builds
// (scripts/toolchain.ts), for each branch that can run here: the real
// OpenTofu on PATH, with and without Go, with the providers in the CLI's
// implicit local directory (and `tofu init` then really finds them there,
// offline), and with neither a CLI nor Go.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chooseToolchain, PROVIDERS } from '../../scripts/toolchain';
import { cacheDir, loadToolchain } from '../support/tools';

let work: string;
let tofuVersion: string;
const system = '/usr/bin:/bin';

/** A directory of executables by name: links to real tools, or scripts. */
function binDir(name: string, tools: Record<string, string>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [tool, target] of Object.entries(tools)) {
    if (target.startsWith('#!')) fs.writeFileSync(path.join(dir, tool), target, { mode: 0o755 });
    else fs.symlinkSync(target, path.join(dir, tool));
  }
  return dir;
}

const go = () => spawnSync('bash', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim();

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-toolchain-'));
  tofuVersion = loadToolchain().versions.terraform!;
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('a tofu on PATH is used, not built; the providers are built when the CLI has none', () => {
  const bin = binDir('tofu-and-go', { tofu: loadToolchain().terraform, go: go() });
  // A CLI configuration file that does not exist makes tofu warn on stdout before its JSON: still recognised.
  const env = { PATH: `${bin}:${system}`, HOME: path.join(work, 'empty-home'), TF_CLI_CONFIG_FILE: path.join(work, 'missing.tfrc') };
  const choice = chooseToolchain({ env, cacheDir: cacheDir(), ownEngine: false });
  expect(choice.cli).toBe(path.join(bin, 'tofu'));
  expect(choice.build).toEqual(['providers']);
  expect(choice.lines[0]).toBe(`cli: OpenTofu ${tofuVersion} at ${path.join(bin, 'tofu')} (yours, on PATH)`);
  expect(choice.lines[1]).toMatch(/^providers: hashicorp\/consul 2\.22\.1 and kreuzwerker\/docker 3\.6\.2 built from source into the project's mirror/);
});

test('the project\'s own OpenTofu (its tools cache on PATH) is not taken for the user\'s', () => {
  const bin = binDir('own-only', { go: go() });
  const choice = chooseToolchain({ env: { PATH: `${path.join(cacheDir(), 'path')}:${bin}:${system}`, HOME: work }, cacheDir: cacheDir(), ownEngine: true });
  expect(choice.cli).toBeUndefined();
  expect(choice.build).toEqual(['tofu', 'providers', 'consul']);
  expect(choice.lines[0]).toBe('cli: OpenTofu built from source (no tofu on PATH)');
});

test('fails with a tofu on PATH and no Go when the providers are missing, saying what to install', () => {
  const bin = binDir('tofu-only', { tofu: loadToolchain().terraform });
  const home = path.join(work, 'home-without-plugins');
  expect(() => chooseToolchain({ env: { PATH: `${bin}:${system}`, HOME: home }, cacheDir: cacheDir(), ownEngine: false })).toThrow(
    `npm run up needs to build providers, and no Go toolchain is on PATH. Install Go 1.26 or newer, or provide: the providers hashicorp/consul 2.22.1 and `
    + `kreuzwerker/docker 3.6.2 in ${home}/.terraform.d/plugins/registry.opentofu.org/<source>/<version>/<os>_<arch>/, or CONSUL_MESH_PROVIDERS=cli to let your CLI fetch them.`);
});

test('builds nothing with a tofu on PATH and the providers in ~/.terraform.d/plugins, and tofu init finds them there offline', () => {
  const bin = binDir('tofu-no-go', { tofu: loadToolchain().terraform });
  const home = path.join(work, 'home-with-plugins');
  for (const p of PROVIDERS) {
    const type = p.source.split('/')[1];
    const dir = path.join(home, '.terraform.d', 'plugins', 'registry.opentofu.org', p.source, p.version, 'linux_amd64');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(loadToolchain().providers[type as 'consul' | 'docker']!, path.join(dir, `terraform-provider-${type}_v${p.version}`));
    fs.chmodSync(path.join(dir, `terraform-provider-${type}_v${p.version}`), 0o755);
  }
  const env = { PATH: `${bin}:${system}`, HOME: home };
  const choice = chooseToolchain({ env, cacheDir: cacheDir(), ownEngine: false });
  expect(choice).toEqual({
    cli: path.join(bin, 'tofu'), build: [], ownProviderConfig: true, clearCliConfig: false,
    lines: [`cli: OpenTofu ${tofuVersion} at ${path.join(bin, 'tofu')} (yours, on PATH)`,
      `providers: hashicorp/consul 2.22.1 and kreuzwerker/docker 3.6.2 found in ${home}/.terraform.d/plugins (your CLI's implicit local directory)`],
  });
  // A TF_CLI_CONFIG_FILE that does not exist would make the CLI warn on stdout, where cdktf reads JSON: cleared.
  const missing = path.join(work, 'missing.tfrc');
  const cleared = chooseToolchain({ env: { ...env, TF_CLI_CONFIG_FILE: missing }, cacheDir: cacheDir(), ownEngine: false });
  expect(cleared.clearCliConfig).toBe(true);
  expect(cleared.lines[2]).toBe(`cli config: TF_CLI_CONFIG_FILE=${missing} does not exist: cleared (the CLI's defaults apply)`);
  // The CLI's own configuration (none: its defaults), as npm run up leaves it. A proxy on a closed loopback
  // port makes any registry request fail, so success means the providers came from the directory.
  const stack = path.join(work, 'stack');
  fs.mkdirSync(stack);
  fs.writeFileSync(path.join(stack, 'main.tf.json'), JSON.stringify({
    terraform: { required_providers: Object.fromEntries(PROVIDERS.map((p) => [p.source.split('/')[1], { source: p.source, version: p.version }])) },
  }));
  const init = spawnSync(path.join(bin, 'tofu'), ['init', '-input=false', '-no-color'], {
    cwd: stack, encoding: 'utf8', env: { ...env, CHECKPOINT_DISABLE: '1', HTTPS_PROXY: 'http://127.0.0.1:9', HTTP_PROXY: 'http://127.0.0.1:9' },
  });
  expect({ status: init.status, err: init.stderr }).toEqual({ status: 0, err: '' });
  expect(init.stdout).toMatch(/Installed hashicorp\/consul v2\.22\.1 \(unauthenticated\)/);
});

test('a Terraform on PATH is named and passed over (the example encrypts its state), and OpenTofu is built', () => {
  // A stand-in: Terraform is not open source, so none is installed here; this prints what `terraform version -json` does.
  const bin = binDir('terraform-and-go', { terraform: '#!/bin/sh\necho \'{"terraform_version":"1.9.8","platform":"linux_amd64"}\'\n', go: go() });
  const choice = chooseToolchain({ env: { PATH: `${bin}:${system}`, HOME: work }, cacheDir: cacheDir(), ownEngine: false });
  expect(choice.build).toEqual(['tofu', 'providers']);
  expect(choice.lines[0]).toBe(`cli: OpenTofu built from source (Terraform at ${path.join(bin, 'terraform')} is passed over: the example encrypts its state, which only OpenTofu does)`);
});

test('fails with neither a CLI nor Go, naming OpenTofu, the providers, a Docker engine and Go', () => {
  const home = path.join(work, 'bare-home');
  expect(() => chooseToolchain({ env: { PATH: system, HOME: home }, cacheDir: cacheDir(), ownEngine: true })).toThrow(
    'npm run up needs to build tofu, providers, consul, and no Go toolchain is on PATH. Install Go 1.26 or newer, or provide: OpenTofu 1.7 or newer on PATH as `tofu`; '
    + `the providers hashicorp/consul 2.22.1 and kreuzwerker/docker 3.6.2 in ${home}/.terraform.d/plugins/registry.opentofu.org/<source>/<version>/<os>_<arch>/, `
    + 'or CONSUL_MESH_PROVIDERS=cli to let your CLI fetch them; a Docker engine that answers on DOCKER_HOST or /var/run/docker.sock (its registry gives the Consul image).');
});
