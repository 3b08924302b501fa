// The library's constructs in more than one stack of an app: values the
// finalize pass renders may reference another stack, and cdktf wires such
// references (an output there, remote state here) only in its prepare step,
// before any stack is written.
import * as fs from 'fs';
import * as path from 'path';
import { TerraformResource, TerraformStack, Testing } from 'cdktf';
import { ExistingDatacenter, TerminatingGateway } from '../../lib';

function written(outdir: string, stack: string): any {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8'));
}

test('a reference to another stack inside a body rendered at synth gets its output and remote state', () => {
  const app = Testing.app();
  const shared = new TerraformStack(app, 'shared');
  const ca = new TerraformResource(shared, 'ca', { terraformResourceType: 'terraform_data' });
  const egress = new TerraformStack(app, 'egress');
  const dc = new ExistingDatacenter(egress, 'dc', { name: 'dc1', address: '127.0.0.1:8500' });
  const gateway = new TerminatingGateway(egress, 'tg', { datacenter: dc });
  // Linked after the gateway exists: the entry's body is rendered by the finalize pass.
  gateway.linkService({ service: 'billing', caFile: ca.getStringAttribute('output') });
  app.synth();

  const outputs = Object.entries<any>(written(app.outdir, 'shared').output ?? {});
  expect(outputs.map(([, o]) => [o.value, o.sensitive])).toEqual([['${terraform_data.ca.output}', true]]);
  const entry = Object.values<any>(written(app.outdir, 'egress').resource.consul_config_entry)[0];
  expect(JSON.parse(entry.config_json).Services[0].CAFile).toBe(`\${data.terraform_remote_state.cross-stack-reference-input-shared.outputs.${outputs[0][0]}}`);
});
