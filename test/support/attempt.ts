import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';

/**
 * Builds into a real app with its own outdir, synthesizes (validations on),
 * and reports what was thrown and which stacks were written: a bad input
 * must fail with one message and leave nothing behind.
 */
export function attemptApp(build: (app: App) => void): { error: string; written: string[] } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'consul-mesh-'));
  const app = new App({ outdir });
  let error = '';
  try {
    build(app);
    app.synth();
  } catch (e) {
    error = (e as Error).message;
  }
  const written = fs.existsSync(path.join(outdir, 'stacks')) ? fs.readdirSync(path.join(outdir, 'stacks')) : [];
  fs.rmSync(outdir, { recursive: true, force: true });
  return { error, written };
}

/** `attemptApp` with one stack, `bad`. */
export function attempt(build: (stack: TerraformStack) => void): { error: string; written: string[] } {
  return attemptApp((app) => build(new TerraformStack(app, 'bad')));
}
