// A fresh Python virtual environment with the library's wheel and the
// bindings a Python user installs from PyPI (examples/requirements.txt);
// pip's own cache keeps a second run quick.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');

export interface PythonEnv {
  /** The venv's python. */
  readonly python: string;
  /** The wheel installed in it. */
  readonly wheel: string;
  readonly dir: string;
  /** Runs `python args` in `cwd` with `env` added; the jsii runtime's end-of-life Node banner silenced. */
  run(args: string[], options?: { cwd?: string; env?: Record<string, string> }): { status: number | null; stdout: string; stderr: string };
  remove(): void;
}

function must(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const run = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd ?? repo, env: options.env ?? process.env, timeout: 10 * 60_000 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${run.status}\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** Builds the wheel from this build's assembly and installs it with the PyPI bindings in a new venv. */
export function pythonEnv(): PythonEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cmesh-python-'));
  // As `npm run package` builds it (README samples translated by jsii-rosetta), from this build's assembly.
  must('bash', [path.join(repo, 'scripts', 'package.sh'), '-o', path.join(dir, 'dist'), '--targets', 'js,python']);
  const wheel = fs.readdirSync(path.join(dir, 'dist', 'python')).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error('jsii-pacmak wrote no wheel');
  must('python3', ['-m', 'venv', path.join(dir, 'venv')]);
  const python = path.join(dir, 'venv', 'bin', 'python');
  must(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', path.join(repo, 'examples', 'requirements.txt'),
    path.join(dir, 'dist', 'python', wheel)]);
  return {
    python,
    wheel,
    dir,
    run(args, options = {}) {
      const r = spawnSync(python, args, {
        encoding: 'utf8', cwd: options.cwd ?? repo, timeout: 5 * 60_000,
        env: { ...process.env, JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION: process.versions.node.split('.')[0], ...options.env },
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
