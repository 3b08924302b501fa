import * as fs from 'fs';
import * as path from 'path';
import { IStackSynthesizer, ISynthesisSession, Manifest, TerraformStack } from './tf';
import { IConstruct } from 'constructs';
import { providerAlias } from '../datacenter/datacenter';
import { MeshGatewayModes } from '../modes/mesh-gateway-modes';
import { MeshService } from '../services/mesh-service';

const INSTALLED = Symbol.for('cdktf-consul-mesh.explain-output');

/**
 * Makes the stack of `scope` write, next to its cdk.tf.json, the mesh
 * gateway mode table (`mesh-gateway-modes.txt`) and diagram (Mermaid,
 * `mesh-gateway-modes.mmd`), and each service's agent
 * definition (`services/<dc>-<service>.json`). Installed once per stack by
 * wrapping its synthesizer, so it runs only when the stack is written.
 */
export function installExplainOutput(scope: IConstruct): void {
  const stack = TerraformStack.of(scope) as TerraformStack & { [INSTALLED]?: boolean };
  if (stack[INSTALLED]) return;
  stack[INSTALLED] = true;
  const inner = stack.synthesizer;
  const wrapped: IStackSynthesizer = {
    synthesize(session: ISynthesisSession) {
      inner.synthesize(session);
      const dir = path.join(session.outdir, Manifest.stacksFolder, stack.node.id);
      const rows = MeshGatewayModes.explain(stack);
      fs.writeFileSync(path.join(dir, 'mesh-gateway-modes.txt'), MeshGatewayModes.renderTable(rows));
      fs.writeFileSync(path.join(dir, 'mesh-gateway-modes.mmd'), MeshGatewayModes.renderDiagram(rows));
      const services = stack.node.findAll().filter((c): c is MeshService => c instanceof MeshService);
      if (services.length > 0) fs.mkdirSync(path.join(dir, 'services'), { recursive: true });
      for (const s of services) fs.writeFileSync(path.join(dir, 'services', `${providerAlias(s.datacenter)}-${s.service}.json`), s.definitionJson + '\n');
    },
  };
  stack.synthesizer = wrapped;
}
