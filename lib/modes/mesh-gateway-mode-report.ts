import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { MeshGatewayModes } from './mesh-gateway-modes';
import { ModeService } from './mode-layers';
import { explainByService } from './mode-resolution';
import { providerAlias } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { IStackSynthesizer, ISynthesisSession, Manifest, TerraformStack } from '../internal/tf';

const REPORTS = new WeakMap<TerraformStack, MeshGatewayModeReport>();

/** Props of `MeshGatewayModeReport`. */
export interface MeshGatewayModeReportProps {
  /**
   * Also write each service's agent definition, `services/<dc>-<service>.json`.
   * @default true
   */
  readonly serviceDefinitions?: boolean;
}

/**
 * Writes, next to its stack's cdk.tf.json, what `MeshGatewayModes`
 * computes before deploy: the mode of every upstream of the stack's
 * services as a table (`mesh-gateway-modes.txt`) and a Mermaid diagram
 * (`mesh-gateway-modes.mmd`), and each service's agent definition. Opt-in:
 * add one to a stack whose services you want to review or register. It
 * writes after the stack's own synthesizer, which it wraps (cdktf's public
 * extension point for files beside cdk.tf.json).
 */
export class MeshGatewayModeReport extends Construct {
  /** Whether service definitions are written too. */
  public readonly serviceDefinitions: boolean;

  constructor(scope: Construct, id: string, props: MeshGatewayModeReportProps = {}) {
    super(scope, id);
    this.serviceDefinitions = props.serviceDefinitions ?? true;
    const stack = TerraformStack.of(this);
    const first = REPORTS.get(stack);
    if (first) {
      throw invalidInput(this, `stack ${stack.node.id} already has a mesh gateway mode report at ${first.node.path}`, id,
        'Add one report per stack: both would write the same files.');
    }
    REPORTS.set(stack, this);
    const inner = stack.synthesizer;
    const wrapped: IStackSynthesizer = {
      synthesize: (session: ISynthesisSession) => {
        inner.synthesize(session);
        this.write(session);
      },
    };
    stack.synthesizer = wrapped;
  }

  private write(session: ISynthesisSession): void {
    const stack = TerraformStack.of(this);
    const dir = path.join(session.outdir, Manifest.stacksFolder, stack.node.id);
    const byService = explainByService(stack);
    const rows = [...byService.values()].flat();
    fs.writeFileSync(path.join(dir, 'mesh-gateway-modes.txt'), MeshGatewayModes.renderTable(rows));
    fs.writeFileSync(path.join(dir, 'mesh-gateway-modes.mmd'), MeshGatewayModes.renderDiagram(rows));
    // Ingress gateways have no agent definition: `consul connect envoy -register` registers them.
    const services = [...byService.keys()].filter((d): d is ModeService => 'definitionJson' in d);
    if (!this.serviceDefinitions || services.length === 0) return;
    fs.mkdirSync(path.join(dir, 'services'), { recursive: true });
    for (const s of services) {
      fs.writeFileSync(path.join(dir, 'services', `${providerAlias(s.datacenter)}-${s.service}.json`), s.definitionJson + '\n');
    }
  }
}
