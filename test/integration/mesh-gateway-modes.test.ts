// The resolver's answer for every case in mode-cases, compared with what real
// Consul reports once the same config entries are written and the rendered
// service definition is registered: the agent's merged upstream mode
// (/v1/agent/service/<sidecar-id>) and, for federation upstreams, the mode of
// the discovery chain's target, compiled with the override the sidecar sends
// (its merged upstream mode). Any mismatch fails with both answers shown.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TerraformStack, Testing } from 'cdktf';
import { MeshGatewayModes } from '../../lib';
import { applyConsulResources } from '../support/consul-api-apply';
import { ConsulCluster, Datacenter } from '../support/consul-cluster';
import { buildModeCase, MODE_CASES } from '../support/mode-cases';
import { requireTool } from '../support/tools';

let cluster: ConsulCluster;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'modes-'));

beforeAll(async () => {
  cluster = await ConsulCluster.start({ consulBin: requireTool('consul') });
  await cluster.waitForLeaders();
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

test('covers every layer at least once', () => {
  expect(new Set(MODE_CASES.map((c) => c.expect.decidedBy)).size).toBe(8);
  expect(MODE_CASES.length).toBeGreaterThanOrEqual(12);
});

test.each(MODE_CASES.map((c) => [c.name, c]))('%s: the resolver agrees with Consul', async (_name, c) => {
  const addresses = { dc1: cluster.dc1.httpAddr, dc2: cluster.dc2.httpAddr };
  const stack = new TerraformStack(Testing.app(), 'modes');
  const service = buildModeCase(stack, c, addresses);
  const [predicted] = MeshGatewayModes.explain(stack);
  const json = JSON.parse(Testing.synth(stack));
  const agentOf = (address: string) => (address === addresses.dc1 ? 'dc1' : 'dc2') as Datacenter;
  const token = cluster.managementToken;
  const applied = await applyConsulResources(cluster, json, token, agentOf);
  const file = path.join(work, `${service.sidecarId}.json`);
  fs.writeFileSync(file, service.definitionJson);
  try {
    const register = cluster.consulCli('dc1', ['services', 'register', file], { token });
    expect({ register: register.status, stderr: register.stderr }).toEqual({ register: 0, stderr: '' });

    const sidecar = await cluster.api('dc1', 'GET', `/v1/agent/service/${service.sidecarId}`, undefined, token);
    const agentMode = sidecar.json.Proxy.Upstreams[0].MeshGateway?.Mode ?? '';
    const consul: Record<string, string> = { agentMode };
    if (!c.peer) {
      // What the sidecar asks for: the chain in the upstream's datacenter, overridden by its merged mode.
      const chain = await cluster.api('dc1', 'POST', '/v1/discovery-chain/api?compile-dc=dc2', { OverrideMeshGateway: { Mode: agentMode } }, token);
      const targets = Object.entries<any>(chain.json.Chain.Targets);
      expect(targets.map(([id]) => id)).toEqual(['api.default.default.dc2']);
      consul.mode = targets[0][1].MeshGateway?.Mode || 'none';
    } else {
      // Peered upstreams always use gateways: Consul takes an unset (or none) mode as remote.
      consul.mode = agentMode === '' || agentMode === 'none' ? 'remote' : agentMode;
    }
    expect({ case: c.name, consul }).toEqual({ case: c.name, consul: { agentMode: predicted.agentMode, mode: predicted.mode } });
  } finally {
    cluster.consulCli('dc1', ['services', 'deregister', '-id', 'web'], { token });
    await applied.destroy();
  }
});
