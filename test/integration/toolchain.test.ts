// The tools the suites drive are the open-source builds tools/build.sh makes,
// and its licence check can fail: it names a module a binary really links.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadToolchain, requireTool } from '../support/tools';

const repo = path.resolve(__dirname, '..', '..');
const toolchain = loadToolchain();
const binaries = () => [requireTool('terraform'), requireTool('consul'), requireTool('xds'), requireTool('provider-consul'), requireTool('provider-docker')];
const check = (files: string[], list?: string) => spawnSync('bash', [path.join(repo, 'tools', 'licence-check.sh'), ...files], {
  encoding: 'utf8', env: { ...process.env, ...(list ? { NOT_TO_USE: list } : {}) },
});

test('the CLI is OpenTofu and the agent Consul 1.14.11, both built here', () => {
  const tofu = spawnSync(requireTool('terraform'), ['version', '-json'], { encoding: 'utf8', env: { ...process.env, ...toolchain.env } });
  expect(JSON.parse(tofu.stdout).terraform_version).toBe('1.12.6');
  expect(spawnSync(requireTool('terraform'), ['-help'], { encoding: 'utf8' }).stdout).toMatch(/^Usage: tofu /m);
  expect(spawnSync(requireTool('consul'), ['version'], { encoding: 'utf8' }).stdout).toMatch(/^Consul v1\.14\.11$/m);
});

test('no binary links a module tools/not-to-use.txt lists', () => {
  const run = check(binaries());
  expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: '' });
  // And the list names what issue-level research found: every 1.15+ Consul links these two.
  const list = fs.readFileSync(path.join(repo, 'tools', 'not-to-use.txt'), 'utf8');
  expect(list).toMatch(/^github\.com\/hashicorp\/consul\/envoyextensions\s+\*/m);
  expect(list).toMatch(/^github\.com\/hashicorp\/consul\/troubleshoot\s+\*/m);
  expect(list).toMatch(/^github\.com\/hashicorp\/consul\s+1\.17\.0/m);
});

test('fails on a module a binary links, from the version the list names, and names it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'licence-'));
  const list = path.join(dir, 'list.txt');
  // consul 1.14.11 links consul/api v1.18.1: listed from 1.18.0 it must fail, from 1.19.0 it must not.
  fs.writeFileSync(list, 'github.com/hashicorp/consul/api 1.18.0 test\n');
  const failing = check([requireTool('consul')], list);
  expect(failing.status).toBe(1);
  expect(failing.stdout).toContain('github.com/hashicorp/consul/api v1.18.1 (from 1.18.0)');
  fs.writeFileSync(list, 'github.com/hashicorp/consul/api 1.19.0 test\n');
  expect(check([requireTool('consul')], list).status).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the provider mirror holds both providers for OpenTofu and for Terraform', () => {
  const mirror = path.join(path.dirname(toolchain.env.TF_CLI_CONFIG_FILE), 'mirror');
  for (const host of ['registry.opentofu.org', 'registry.terraform.io']) {
    expect(fs.statSync(path.join(mirror, host, 'hashicorp/consul/2.22.1/linux_amd64/terraform-provider-consul_v2.22.1')).isFile()).toBe(true);
    expect(fs.statSync(path.join(mirror, host, 'kreuzwerker/docker/3.6.2/linux_amd64/terraform-provider-docker_v3.6.2')).isFile()).toBe(true);
  }
});
