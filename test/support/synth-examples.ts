// Synthesizes every runnable example (examples/<name>/main.ts) into one outdir
// by running it as `cdktf synth` would, and lists the stacks written.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

export interface SynthesizedStack {
  readonly example: string;
  readonly stack: string;
  readonly dir: string;
}

export function exampleNames(): string[] {
  return fs.readdirSync(path.join(root, 'examples')).filter((name) => fs.existsSync(path.join(root, 'examples', name, 'main.ts'))).sort();
}

export function synthExamples(outdir: string): SynthesizedStack[] {
  const stacks: SynthesizedStack[] = [];
  for (const example of exampleNames()) {
    const out = path.join(outdir, example);
    fs.mkdirSync(out, { recursive: true });
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register', path.join(root, 'examples', example, 'main.ts')], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CDKTF_OUTDIR: out, TS_NODE_PROJECT: path.join(root, 'tsconfig.dev.json') },
    });
    if (run.status !== 0) throw new Error(`examples/${example} failed to synthesize:\n${run.stdout}${run.stderr}`);
    for (const stack of fs.readdirSync(path.join(out, 'stacks'))) stacks.push({ example, stack, dir: path.join(out, 'stacks', stack) });
  }
  return stacks;
}

if (require.main === module) {
  const outdir = process.argv[2] ?? path.join(root, 'cdktf.out', 'examples');
  for (const s of synthExamples(outdir)) console.log(`${s.example}: ${path.relative(root, s.dir)}/cdk.tf.json`);
}
