import * as fs from 'fs';
import { Testing } from 'cdktf';
// The matchers' type declarations (toHaveResourceWithProperties, ...).
import 'cdktf/lib/testing/adapters/jest';

Testing.setupJest();

// cdktf's Testing.app() and Testing.fullSynth() make a cdktf.outdir.* directory in the system's temp dir each and never
// remove it (about 560 a run of the suite): those this test file made go once it is done.
const made: string[] = [];
const app = Testing.app.bind(Testing);
const fullSynth = Testing.fullSynth.bind(Testing);
Testing.app = (options = {}) => {
  const created = app(options);
  if (options.outdir === undefined) made.push(created.outdir);
  return created;
};
Testing.fullSynth = (stack) => {
  const outdir = fullSynth(stack);
  made.push(outdir);
  return outdir;
};
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
