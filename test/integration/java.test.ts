// The library as a Java user gets it: the Maven artifact `npm run package`
// builds from this build's assembly (io.github.cdktfconsulmesh:cdktf-consul-mesh),
// with cdktf and the providers generated locally by scripts/bindings.sh and
// the jsii runtime and constructs from Maven Central. The Java port of
// examples/federated-pair (examples/federated-pair/java), built by Maven as
// a user builds it, synthesizes byte for byte what the TypeScript does, and
// bad input fails with the library's message as a JsiiError.
import * as fs from 'fs';
import * as path from 'path';
import { expectKnobsApplied, filesIn, javaProject, knobs, Workspace } from '../support/jvm-go';

let ws: Workspace;
let project: ReturnType<typeof javaProject>;
const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;

/** `mvn compile exec:java` of the copied project, as its pom documents it, with this build's version of the library. */
function mvn(name: string, env: Record<string, string> = {}, extra: string[] = []) {
  return ws.synth(name, 'mvn', ['-e', '-q', '-B', '-Dstyle.color=never', '-s', project.settings, '-f', project.pom,
    `-Dcdktf-consul-mesh.version=${version}`, ...extra, 'compile', 'exec:java'], env);
}

beforeAll(() => {
  ws = new Workspace('java');
  project = javaProject(ws);
}, 15 * 60_000);
afterAll(() => ws?.remove());

test('the Maven repository holds the library\'s jar, sources and javadoc, and its pom names the locally generated cdktf and providers', () => {
  const dir = path.join(ws.dist, 'java', 'io', 'github', 'cdktfconsulmesh', 'cdktf-consul-mesh', version);
  for (const suffix of ['.jar', '-sources.jar', '-javadoc.jar', '.pom']) expect(fs.existsSync(path.join(dir, `cdktf-consul-mesh-${version}${suffix}`))).toBe(true);
  const pom = fs.readFileSync(path.join(dir, `cdktf-consul-mesh-${version}.pom`), 'utf8');
  for (const [artifact, v] of [['cdktf', '0.21.0'], ['cdktf-provider-consul', '10.1.2'], ['cdktf-provider-docker', '12.0.3']]) {
    expect(pom).toContain(`<artifactId>${artifact}</artifactId>\n      <version>${v}</version>`);
  }
});

describe('the Java port of examples/federated-pair synthesizes byte for byte what the TypeScript does', () => {
  test('with the env knobs unset', () => {
    const ts = ws.synthTypeScript('ts-default');
    const { out, run: java } = mvn('java-default');
    expect({ status: java.status, stderr: java.stderr.replace(/\x1b\[0m/g, '') }).toEqual({ status: 0, stderr: '' });
    expect(Object.keys(filesIn(out))).toContain(path.join('stacks', 'federated-pair', 'cdk.tf.json'));
    expect(Object.keys(filesIn(out))).toContain(path.join('stacks', 'federated-pair-servers', 'cdk.tf.json'));
    expect(filesIn(out)).toEqual(filesIn(ts));
  }, 5 * 60_000);

  test('with CONSUL_MESH_IMAGE, CONSUL_MESH_START_ENVOY=false and CONSUL_MESH_STATE_DIR set', () => {
    const env = knobs(ws.dir);
    const ts = ws.synthTypeScript('ts-knobs', env);
    const { out, run: java } = mvn('java-knobs', env);
    expect(java.status).toBe(0);
    expectKnobsApplied(out, ws.dir);
    expect(filesIn(out)).toEqual(filesIn(ts));
  }, 5 * 60_000);
});

test('rejects duplicate datacenter names: a JsiiError carrying the library\'s message, construct path first', () => {
  const dir = path.join(project.sources, 'io', 'github', 'cdktfconsulmesh', 'examples', 'federatedpair');
  fs.writeFileSync(path.join(dir, 'Bad.java'), `package io.github.cdktfconsulmesh.examples.federatedpair;

import com.hashicorp.cdktf.App;
import com.hashicorp.cdktf.TerraformStack;
import io.github.cdktfconsulmesh.ConsulFederation;
import io.github.cdktfconsulmesh.DatacenterOptions;
import java.util.List;

public final class Bad {
    public static void main(final String[] args) {
        final TerraformStack stack = new TerraformStack(new App(), "bad");
        ConsulFederation.Builder.create(stack, "fed")
                .primary(DatacenterOptions.builder().name("dc1").build())
                .secondaries(List.of(DatacenterOptions.builder().name("dc1").build()))
                .build();
    }
}
`);
  const { out, run: bad } = mvn('java-bad', {}, ['-Dexec.mainClass=io.github.cdktfconsulmesh.examples.federatedpair.Bad']);
  expect(bad.status).not.toBe(0);
  expect(bad.stdout).toMatch(/^Caused by: software\.amazon\.jsii\.JsiiError: bad\/fed: datacenter names must be unique in a federation \(got: "dc1"\)\. Rename one of the datacenters\.$/m);
  expect(filesIn(out)).toEqual({});
}, 5 * 60_000);
