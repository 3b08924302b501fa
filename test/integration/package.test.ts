// What a consumer of the npm package gets: only the built library, its
// type declarations and assembly, the README, the API reference and the
// licence; the API reference is the one jsii-docgen writes from the
// assembly the build made (so it is never stale); the package says what it is.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));

test('npm pack ships the built library and nothing of the project around it', () => {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repo, encoding: 'utf8' });
  expect(run.status).toBe(0);
  const files: string[] = JSON.parse(run.stdout)[0].files.map((f: { path: string }) => f.path);
  const outside = files.filter((f) => !/^lib\/.+\.(js|d\.ts)$/.test(f));
  expect(outside.sort()).toEqual(['.jsii', 'API.md', 'CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
  // Every public module is there, compiled and declared.
  for (const f of ['lib/index.js', 'lib/index.d.ts', 'lib/datacenter/consul-version.js', 'lib/modes/mesh-gateway-modes.d.ts']) expect(files).toContain(f);
  expect(files.some((f) => /^(test|tools|scripts|bench|examples|scratch)\//.test(f))).toBe(false);
});

test('API.md is what jsii-docgen writes from the assembly of this build', () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'docgen-')), 'API.md');
  const run = spawnSync(path.join(repo, 'node_modules', '.bin', 'jsii-docgen'), ['-o', out], { cwd: repo, encoding: 'utf8' });
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  const fresh = fs.readFileSync(out, 'utf8');
  expect(fresh).toContain('### ConsulVersion');
  // Out of date? Regenerate with `npm run docgen` and commit API.md.
  expect(fs.readFileSync(path.join(repo, 'API.md'), 'utf8') === fresh).toBe(true);
});

test('the package is MPL-2.0 with the licence text, and marked experimental', () => {
  expect(pkg.license).toBe('MPL-2.0');
  expect(fs.readFileSync(path.join(repo, 'LICENSE'), 'utf8')).toMatch(/^Mozilla Public License Version 2\.0\n/);
  expect(pkg.stability).toBe('experimental');
  expect(JSON.parse(fs.readFileSync(path.join(repo, '.jsii'), 'utf8')).docs).toMatchObject({ stability: 'experimental' });
});
