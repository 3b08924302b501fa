// The library as a Python user gets it: the wheel jsii-pacmak builds from
// this build's assembly, installed in a fresh venv with cdktf and the
// provider bindings from PyPI. The Python port of every example, and every
// README snippet as jsii-rosetta translates it to Python, synthesize the
// same cdk.tf.json as the TypeScript they come from.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { exampleNames, synthExamples } from '../support/synth-examples';
import { PythonEnv, pythonEnv } from '../support/python';

const repo = path.resolve(__dirname, '..', '..');
let env: PythonEnv;

beforeAll(() => {
  env = pythonEnv();
}, 10 * 60_000);
afterAll(() => env?.remove());

/** Every stack an outdir holds: `<stack>` -> its cdk.tf.json, parsed. */
function stacksIn(outdir: string): Record<string, unknown> {
  const stacks = path.join(outdir, 'stacks');
  if (!fs.existsSync(stacks)) return {};
  return Object.fromEntries(fs.readdirSync(stacks).sort().map((s) => [s, JSON.parse(fs.readFileSync(path.join(stacks, s, 'cdk.tf.json'), 'utf8'))]));
}

/**
 * cdk.tf.json as written from the examples' own directories: only local
 * state paths (under the working directory) may differ, the backend's and
 * those of the remote state another stack reads.
 */
function withoutPaths(json: any): unknown {
  const copy = JSON.parse(JSON.stringify(json));
  if (copy.terraform?.backend?.local) copy.terraform.backend.local.path = '<cwd>/terraform.<stack>.tfstate';
  for (const remote of Object.values<any>(copy.data?.terraform_remote_state ?? {})) {
    if (remote.backend !== 'local') continue;
    const normal = `<cwd>/${path.basename(remote.config.path)}`;
    // The shrink guard reads its own state where the backend keeps it (lib/docker/server-removal-guard.ts).
    if (typeof remote.count === 'string') remote.count = remote.count.split(remote.config.path).join(normal);
    remote.config.path = normal;
  }
  return copy;
}

test('the wheel\'s README shows Python in its python blocks, and its docstrings carry no raw {@link}', () => {
  const unzip = (member: string) => env.run(['-c', `import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())`,
    path.join(env.dir, 'dist', 'python', env.wheel), member]).stdout;
  const metadata = unzip(env.wheel.replace(/-py3-none-any\.whl$/, '.dist-info/METADATA'));
  const blocks = [...metadata.matchAll(/```python\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  for (const block of blocks) expect(block).not.toMatch(/^import \{|^const |new [A-Z]/m);
  expect(blocks[0]).toContain('from cdktf_consul_mesh import');
  expect(unzip('cdktf_consul_mesh/__init__.py')).not.toContain('{@link');
});

test('the wheel holds the library\'s module and its assembly', () => {
  expect(env.wheel).toMatch(/^cdktf_consul_mesh-\d+\.\d+\.\d+-py3-none-any\.whl$/);
  const probe = env.run(['-c', 'import cdktf_consul_mesh as m; print(m.ConsulFederation.__module__, m.Protocol.HTTP.name)']);
  expect({ status: probe.status, out: probe.stdout.trim(), err: probe.stderr }).toEqual({ status: 0, out: 'cdktf_consul_mesh HTTP', err: '' });
});

describe('each example\'s Python port synthesizes what its TypeScript does', () => {
  let tsStacks: Record<string, Record<string, unknown>>;
  beforeAll(() => {
    tsStacks = {};
    for (const s of synthExamples(path.join(env.dir, 'ts'))) {
      (tsStacks[s.example] ??= {})[s.stack] = withoutPaths(JSON.parse(fs.readFileSync(path.join(s.dir, 'cdk.tf.json'), 'utf8')));
    }
  }, 5 * 60_000);

  test.each(exampleNames())('%s', (example) => {
    expect(fs.existsSync(path.join(repo, 'examples', example, 'main.py'))).toBe(true);
    const out = path.join(env.dir, 'py', example);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const run = env.run(['main.py'], { cwd: path.join(repo, 'examples', example), env: { CDKTF_OUTDIR: out } });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const py = Object.fromEntries(Object.entries(stacksIn(out)).map(([stack, json]) => [stack, withoutPaths(json)]));
    expect(Object.keys(py).length).toBeGreaterThan(0);
    expect(py).toEqual(tsStacks[example]);
  });
});

describe('the README\'s snippets, translated to Python by jsii-rosetta, synthesize what the TypeScript does', () => {
  // Runs a snippet and synthesizes every App it created, each into an outdir of its own.
  const PY_RUNNER = `
import os, runpy, sys
import cdktf
apps = []
_init = cdktf.App.__init__
def _recording_init(self, **kwargs):
    kwargs.setdefault("outdir", os.path.join(os.environ["OUTDIR"], "app%d" % len(apps)))
    _init(self, **kwargs)
    apps.append(self)
cdktf.App.__init__ = _recording_init
runpy.run_path(sys.argv[1], run_name="__main__")
for app in apps:
    app.synth()
`;
  const TS_SHIM = `
import * as cdktf from 'cdktf';
export * from 'cdktf';
export const apps: cdktf.App[] = [];
export class App extends cdktf.App {
  constructor(config: cdktf.AppConfig = {}) {
    super({ outdir: require('path').join(process.env.OUTDIR, 'app' + apps.length), ...config });
    apps.push(this);
  }
}
`;
  let snippets: { line: number; python: string; typescript: string }[] = [];
  beforeAll(() => {
    const tablet = path.join(env.dir, 'tablet.json');
    const extract = spawnSync(path.join(repo, 'node_modules', '.bin', 'jsii-rosetta'), ['extract', '--compile', '--fail', '--output', tablet, '.jsii'],
      { cwd: repo, encoding: 'utf8', timeout: 5 * 60_000 });
    if (extract.status !== 0) throw new Error(`jsii-rosetta extract: exit ${extract.status}\n${extract.stderr}`);
    snippets = Object.values<any>(JSON.parse(fs.readFileSync(tablet, 'utf8')).snippets)
      .filter((s) => s.location?.api?.api === 'moduleReadme')
      .map((s) => ({ line: s.location.field.line, python: s.translations.python.source, typescript: s.translations.$.source }))
      .sort((a, b) => a.line - b.line);
    fs.writeFileSync(path.join(env.dir, 'runner.py'), PY_RUNNER);
    // The shim lives outside the repository: it names the repository's cdktf, the one the library uses.
    fs.writeFileSync(path.join(env.dir, 'cdktf-shim.ts'), TS_SHIM.replace(/'cdktf'/g, JSON.stringify(path.join(repo, 'node_modules', 'cdktf'))));
  }, 5 * 60_000);

  test('every ```ts block of the README is there, compiled', () => {
    const blocks = [...fs.readFileSync(path.join(repo, 'README.md'), 'utf8').matchAll(/```ts\n/g)].length;
    expect(snippets.length).toBe(blocks);
    expect(snippets.length).toBeGreaterThanOrEqual(5);
  });

  test('each translation runs in the venv and writes the same stacks as its TypeScript', () => {
    for (const snippet of snippets) {
      const dir = path.join(env.dir, `snippet-${snippet.line}`);
      for (const lang of ['py', 'ts']) fs.mkdirSync(path.join(dir, lang), { recursive: true });
      // Both from the same working directory, so the local backend paths agree.
      fs.writeFileSync(path.join(dir, 'snippet.py'), snippet.python);
      const py = env.run([path.join(env.dir, 'runner.py'), path.join(dir, 'snippet.py')], { cwd: dir, env: { OUTDIR: path.join(dir, 'py') } });
      expect({ line: snippet.line, status: py.status, stderr: py.stderr }).toEqual({ line: snippet.line, status: 0, stderr: '' });

      const source = snippet.typescript
        .replace(/from 'cdktf'/g, `from ${JSON.stringify(path.join(env.dir, 'cdktf-shim'))}`)
        .replace(/from 'cdktf-consul-mesh'/g, `from ${JSON.stringify(path.join(repo, 'lib'))}`)
        .replace(/from '(@cdktf\/[^']+)'/g, (_m, module: string) => `from ${JSON.stringify(path.join(repo, 'node_modules', module))}`);
      fs.writeFileSync(path.join(dir, 'snippet.ts'), `${source}\nexport {};\n`);
      const main = `const shim = require(${JSON.stringify(path.join(env.dir, 'cdktf-shim'))}); require('./snippet'); for (const app of shim.apps) app.synth();`;
      fs.writeFileSync(path.join(dir, 'main.ts'), main);
      const ts = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), 'main.ts'], {
        cwd: dir, encoding: 'utf8', timeout: 5 * 60_000, env: { ...process.env, OUTDIR: path.join(dir, 'ts'), TS_NODE_PROJECT: path.join(repo, 'tsconfig.dev.json') },
      });
      expect({ line: snippet.line, status: ts.status, stderr: ts.stderr.replace(/^!!.*\n/gm, '') }).toEqual({ line: snippet.line, status: 0, stderr: '' });

      const apps = fs.readdirSync(path.join(dir, 'ts')).sort();
      expect({ line: snippet.line, apps: fs.readdirSync(path.join(dir, 'py')).sort() }).toEqual({ line: snippet.line, apps });
      for (const app of apps) {
        const tsStacks = stacksIn(path.join(dir, 'ts', app));
        expect(Object.keys(tsStacks).length).toBeGreaterThan(0);
        expect({ line: snippet.line, app, stacks: stacksIn(path.join(dir, 'py', app)) }).toEqual({ line: snippet.line, app, stacks: tsStacks });
      }
    }
  }, 10 * 60_000);
});

describe('structs inside lists, from Python', () => {
  const secondaries = (expr: string) => env.run(['-c', [
    'from cdktf import App, TerraformStack',
    'from cdktf_consul_mesh import ConsulFederation, DatacenterOptions',
    'import tempfile',
    'stack = TerraformStack(App(outdir=tempfile.mkdtemp()), "s")',
    `fed = ConsulFederation(stack, "fed", primary=DatacenterOptions(name="dc1"), secondaries=[${expr}])`,
    'print([dc.http_port for dc in fed.datacenters])',
  ].join('\n')]);

  test('a struct class carries every field, and refuses a key it does not have', () => {
    const ok = secondaries('DatacenterOptions(name="dc2", http_port=8600)');
    expect({ status: ok.status, out: ok.stdout.trim() }).toEqual({ status: 0, out: '[8500, 8600]' });
    const wrong = secondaries('DatacenterOptions(name="dc2", httpPort=8600)');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/unexpected keyword argument 'httpPort'/);
  });

  test('a dict loses the keys its struct lacks before the library sees them: why the examples use struct classes', () => {
    // The jsii runtime turns the dict into the struct's known properties and
    // drops the rest (http_port is not httpPort): nothing reaches the
    // library's unknown-key check, which guards JavaScript callers only.
    const lost = secondaries('{"name": "dc2", "http_port": 8600}');
    expect({ status: lost.status, out: lost.stdout.trim() }).toEqual({ status: 0, out: '[8500, 8501]' });
  });
});
