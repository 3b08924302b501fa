// npm run explain: synthesizes every example and prints, per stack, which mesh
// gateway mode each upstream gets and which layer decided it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthExamples } from '../test/support/synth-examples';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-'));
try {
  for (const stack of synthExamples(outdir)) {
    const table = path.join(stack.dir, 'mesh-gateway-modes.txt');
    console.log(`## examples/${stack.example} (stack ${stack.stack})\n`);
    console.log(fs.existsSync(table) ? fs.readFileSync(table, 'utf8') : '(no mesh services)\n');
  }
} finally {
  fs.rmSync(outdir, { recursive: true, force: true });
}
