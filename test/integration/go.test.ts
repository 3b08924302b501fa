// The library as a Go user gets it: the module `npm run package` builds from
// this build's assembly (github.com/cdktf-consul-mesh/cdktf-consul-mesh-go/cdktfconsulmesh),
// with the providers generated locally by scripts/bindings.sh and cdktf,
// constructs and the jsii runtime from the Go module proxy. The Go port of
// examples/federated-pair (examples/federated-pair/go), built with `replace`
// lines on a copy, synthesizes byte for byte what the TypeScript does, and
// bad input panics with the library's message.
import * as fs from 'fs';
import * as path from 'path';
import { expectKnobsApplied, filesIn, goModule, knobs, must, Workspace } from '../support/jvm-go';

let ws: Workspace;
let moduleDir: string;

beforeAll(() => {
  ws = new Workspace('go');
  moduleDir = goModule(ws);
  must('go', ['mod', 'tidy'], { cwd: moduleDir });
  must('go', ['build', '-o', path.join(ws.dir, 'federated-pair'), '.'], { cwd: moduleDir });
}, 15 * 60_000);
afterAll(() => ws?.remove());

test('the committed go.mod already requires what the port imports, at the versions tidy keeps', () => {
  const direct = (file: string) => [...fs.readFileSync(file, 'utf8').matchAll(/^\s+(\S+) (v\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const committed = direct(path.join(__dirname, '..', '..', 'examples', 'federated-pair', 'go', 'go.mod'));
  expect(committed).toHaveLength(4);
  const tidied = JSON.parse(must('go', ['mod', 'edit', '-json'], { cwd: moduleDir })).Require
    .filter((r: { Indirect?: boolean }) => !r.Indirect).map((r: { Path: string; Version: string }) => `${r.Path} ${r.Version}`).sort();
  expect(tidied).toEqual(committed);
});

describe('the Go port of examples/federated-pair synthesizes byte for byte what the TypeScript does', () => {
  test('with the env knobs unset', () => {
    const ts = ws.synthTypeScript('ts-default');
    const { out, run } = ws.synth('go-default', path.join(ws.dir, 'federated-pair'), []);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(Object.keys(filesIn(out))).toContain(path.join('stacks', 'federated-pair', 'cdk.tf.json'));
    expect(Object.keys(filesIn(out))).toContain(path.join('stacks', 'federated-pair-servers', 'cdk.tf.json'));
    expect(filesIn(out)).toEqual(filesIn(ts));
  }, 5 * 60_000);

  test('with CONSUL_MESH_IMAGE, CONSUL_MESH_START_ENVOY=false and CONSUL_MESH_STATE_DIR set', () => {
    const env = knobs(ws.dir);
    const ts = ws.synthTypeScript('ts-knobs', env);
    const { out, run } = ws.synth('go-knobs', path.join(ws.dir, 'federated-pair'), [], env);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expectKnobsApplied(out, ws.dir);
    expect(filesIn(out)).toEqual(filesIn(ts));
  }, 5 * 60_000);
});

test('rejects duplicate datacenter names: a panic carrying the library\'s message, construct path first', () => {
  fs.mkdirSync(path.join(moduleDir, 'bad'));
  fs.writeFileSync(path.join(moduleDir, 'bad', 'main.go'), `package main

import (
	"github.com/aws/jsii-runtime-go"
	"github.com/cdktf-consul-mesh/cdktf-consul-mesh-go/cdktfconsulmesh"
	"github.com/hashicorp/terraform-cdk-go/cdktf"
)

func main() {
	stack := cdktf.NewTerraformStack(cdktf.NewApp(nil), jsii.String("bad"))
	cdktfconsulmesh.NewConsulFederation(stack, jsii.String("fed"), &cdktfconsulmesh.ConsulFederationProps{
		Primary:     &cdktfconsulmesh.DatacenterOptions{Name: jsii.String("dc1")},
		Secondaries: &[]*cdktfconsulmesh.DatacenterOptions{{Name: jsii.String("dc1")}},
	})
}
`);
  must('go', ['build', '-o', path.join(ws.dir, 'bad'), './bad'], { cwd: moduleDir });
  const { out, run } = ws.synth('go-bad', path.join(ws.dir, 'bad'), []);
  expect(run.status).toBe(2);
  expect(run.stderr).toMatch(/^panic: bad\/fed: datacenter names must be unique in a federation \(got: "dc1"\)\. Rename one of the datacenters\.$/m);
  expect(filesIn(out)).toEqual({});
}, 5 * 60_000);
