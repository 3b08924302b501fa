// The README's TypeScript examples compile against the library as published.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import * as ts from 'typescript';
import { FederatedPair } from '../../examples/federated-pair/main';
import { MeshGatewayModes } from '../../lib';

const root = path.resolve(__dirname, '..', '..');

test('every ```ts block in README.md type-checks', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThanOrEqual(2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-'));
  const files = blocks.map((code, i) => {
    const file = path.join(dir, `block${i}.ts`);
    fs.writeFileSync(file, code.replace(/from 'cdktf-consul-mesh'/g, `from ${JSON.stringify(path.join(root, 'lib'))}`) + '\nexport {};\n');
    return file;
  });
  const program = ts.createProgram(files, {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, skipLibCheck: true,
    esModuleInterop: true, typeRoots: [path.join(root, 'node_modules', '@types')], types: ['node'], baseUrl: root,
    paths: { '*': [path.join(root, 'node_modules', '*')] },
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) =>
    `${path.basename(d.file?.fileName ?? '')}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  fs.rmSync(dir, { recursive: true, force: true });
  expect(problems).toEqual([]);
});

test('the README\'s diagram of the main example is the one its synth writes', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const shown = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1];
  const stack = new FederatedPair(Testing.app(), 'federated-pair', { startEnvoy: false });
  expect(shown).toBe(MeshGatewayModes.renderDiagram(MeshGatewayModes.explain(stack)));
});
