// Every example, synthesized as `cdktf synth` writes it and checked by real
// `tofu init` + `validate` with the providers from the tools mirror (one
// plugin cache for all). The e2e suites go on to apply them.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synthExamples } from '../support/synth-examples';
import { TerraformWorkspace } from '../support/terraform';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tf-examples-'));
const stacks = synthExamples(outdir);
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

test('every example is there, with each of its stacks', () => {
  expect(stacks.map((s) => `${s.example}/${s.stack}`).sort()).toEqual([
    'federated-pair/federated-pair', 'federated-pair/federated-pair-servers', 'ingress/ingress', 'peering/peering', 'terminating/terminating', 'two-hosts/two-hosts-dc1', 'two-hosts/two-hosts-dc2',
  ]);
});

test.each(stacks.map((s) => [`${s.example}/${s.stack}`, s.dir]))('%s passes tofu init + validate with the pinned providers', async (_name, dir) => {
  const text = fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8');
  const workspace = new TerraformWorkspace(text);
  try {
    const init = await workspace.init();
    // A servers' stack needs no consul provider (nothing in it is read through Consul); every other stack needs both.
    const required = Object.keys(JSON.parse(text).terraform.required_providers).sort();
    expect(required).toEqual(dir.endsWith('-servers') ? ['docker'] : ['consul', 'docker']);
    if (required.includes('consul')) expect(init?.stdout).toMatch(/Installed hashicorp\/consul v2\.22\.1|Using hashicorp\/consul v2\.22\.1/);
    expect(init?.stdout).toMatch(/Installed kreuzwerker\/docker v3\.6\.2|Using kreuzwerker\/docker v3\.6\.2/);
    const validate = await workspace.run(['validate', '-json', '-no-color']);
    expect(JSON.parse(validate.stdout)).toMatchObject({ valid: true, error_count: 0, warning_count: 0 });
  } finally {
    workspace.remove();
  }
});
