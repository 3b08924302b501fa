import * as fs from 'fs';
import { AnnotationMetadataEntryType, TerraformStack, Testing } from 'cdktf';
import { ConsulFederation, ConsulVersion, ExistingDatacenter, MeshGatewayMode, MeshGatewayModeLayer, MeshGatewayModeReport, MeshGatewayModes, MeshService, ProxyDefaults } from '../../lib';
import { buildModeCase, MODE_CASES } from '../support/mode-cases';
import { newStack, synthJson } from '../support/synth';

describe('MeshGatewayModes.explain', () => {
  test.each(MODE_CASES.map((c) => [c.name, c]))('%s', (_name, c) => {
    const stack = newStack();
    buildModeCase(stack, c);
    const [row] = MeshGatewayModes.explain(stack);
    expect({ mode: row.mode, decidedBy: row.decidedBy, agentMode: row.agentMode }).toEqual(c.expect);
  });

  test('before 1.15 an override without a peer applies to a peered upstream of that name (Consul keys overrides by name alone)', () => {
    const c = MODE_CASES.find((m) => m.name === 'peered: override without the peer does not apply')!;
    const explain = (version: ConsulVersion) => {
      const stack = newStack();
      buildModeCase(stack, c, undefined, version);
      const [row] = MeshGatewayModes.explain(stack);
      return { mode: row.mode, decidedBy: row.decidedBy, agentMode: row.agentMode };
    };
    expect(explain(ConsulVersion.V1_14_11)).toEqual({ mode: 'local', decidedBy: MeshGatewayModeLayer.UPSTREAM_OVERRIDE, agentMode: 'local' });
    expect(explain(ConsulVersion.of('1.15.0'))).toEqual(c.expect);
  });

  test('names where each decision was made, and which upstreams cross datacenters', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    new ProxyDefaults(stack, 'pd', { datacenter: fed.datacenter('dc2'), meshGatewayMode: MeshGatewayMode.local() });
    new MeshService(stack, 'web', {
      datacenter: fed.primary, service: 'web', port: 80,
      upstreams: [{ service: 'api', datacenter: 'dc2', localBindPort: 9000 }, { service: 'db', localBindPort: 9001, meshGatewayMode: MeshGatewayMode.remote() }],
    });
    expect(MeshGatewayModes.explain(stack)).toEqual([
      {
        service: 'web', proxyKind: 'sidecar', datacenter: 'dc1', upstream: 'api', targetService: 'api', target: 'dc2', chainDatacenter: 'dc2', via: '', resolvedAt: '',
        crossesDatacenter: true, mode: 'local', decidedBy: MeshGatewayModeLayer.PROXY_DEFAULTS, decidedAt: 'test/pd', agentMode: 'local',
      },
      {
        service: 'web', proxyKind: 'sidecar', datacenter: 'dc1', upstream: 'db', targetService: 'db', target: 'dc1', chainDatacenter: 'dc1', via: '', resolvedAt: '',
        crossesDatacenter: false, mode: 'remote', decidedBy: MeshGatewayModeLayer.UPSTREAM, decidedAt: 'test/web', agentMode: 'remote',
      },
    ]);
  });

  test('ignores config entries of another federation', () => {
    const stack = newStack();
    const a = new ConsulFederation(stack, 'a', { primary: { name: 'a1' }, secondaries: [{ name: 'a2' }] });
    const b = new ConsulFederation(stack, 'b', { primary: { name: 'b1', httpPort: 8600 }, secondaries: [{ name: 'b2', httpPort: 8601 }] });
    new ProxyDefaults(stack, 'b-pd', { datacenter: b.primary, meshGatewayMode: MeshGatewayMode.local() });
    new MeshService(stack, 'web', { datacenter: a.primary, service: 'web', port: 80, upstreams: [{ service: 'api', datacenter: 'a2', localBindPort: 9000, meshGatewayMode: MeshGatewayMode.remote() }] });
    new MeshService(stack, 'x', { datacenter: a.primary, service: 'x', port: 80, upstreams: [{ service: 'api', datacenter: 'a2', localBindPort: 9000, meshGatewayMode: MeshGatewayMode.local() }] });
    const [web] = MeshGatewayModes.explain(stack).filter((r) => r.service === 'web');
    expect(web.decidedBy).toBe(MeshGatewayModeLayer.UPSTREAM);
    const stack2 = newStack();
    const a2 = new ConsulFederation(stack2, 'a', { primary: { name: 'a1' }, secondaries: [{ name: 'a2' }] });
    const b2 = new ConsulFederation(stack2, 'b', { primary: { name: 'b1', httpPort: 8600 }, secondaries: [{ name: 'b2', httpPort: 8601 }] });
    new ProxyDefaults(stack2, 'b-pd', { datacenter: b2.primary, meshGatewayMode: MeshGatewayMode.remote() });
    new MeshService(stack2, 'web', { datacenter: a2.primary, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    expect(MeshGatewayModes.explain(stack2)[0]).toMatchObject({ mode: 'none', decidedBy: MeshGatewayModeLayer.BUILT_IN });
  });

  test('keeps apart two clusters whose datacenters are both dc1 (told apart by cluster)', () => {
    const stack = newStack();
    const east = new ExistingDatacenter(stack, 'east', { name: 'dc1', cluster: 'east', address: '10.0.1.10:8500' });
    const west = new ExistingDatacenter(stack, 'west', { name: 'dc1', cluster: 'west', address: '10.0.2.10:8500' });
    const westDefaults = new ProxyDefaults(stack, 'west-pd', { datacenter: west, meshGatewayMode: MeshGatewayMode.remote() });
    new MeshService(stack, 'web', { datacenter: east, service: 'web', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    new MeshService(stack, 'shop', { datacenter: west, service: 'shop', port: 80, upstreams: [{ service: 'api', localBindPort: 9000 }] });
    const rows = MeshGatewayModes.explain(stack);
    expect(rows.find((r) => r.service === 'web')).toMatchObject({ mode: 'none', decidedBy: MeshGatewayModeLayer.BUILT_IN });
    expect(rows.find((r) => r.service === 'shop')).toMatchObject({ mode: 'remote', decidedBy: MeshGatewayModeLayer.PROXY_DEFAULTS, decidedAt: westDefaults.node.path });
  });

  test('renders a table with the layer spelled out', () => {
    const stack = newStack();
    buildModeCase(stack, MODE_CASES[2]);
    const table = MeshGatewayModes.renderTable(MeshGatewayModes.explain(stack));
    expect(table.split('\n')[2]).toMatch(/^web\s+dc1\s+api\s+dc2\s+remote\s+service-defaults MeshGateway\s+test\/web-defaults\s+remote$/);
  });
});

describe('mode checks', () => {
  test('rejects a peered upstream whose mode resolves to none, naming the layer to change', () => {
    const stack = newStack();
    buildModeCase(stack, { name: 'x', peer: 'partner', proxyDefaults: 'none', expect: undefined as any });
    expect(() => synthJson(stack)).toThrow(/upstream "api" \(peer:partner\) resolves to mesh gateway mode none, set by proxy-defaults MeshGateway at test\/proxy-defaults \(got: "none"\)\. Peered upstreams always go through mesh gateways/);
  });

  test('rejects cross-datacenter none where the datacenter is not directly routable', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 80, upstreams: [{ service: 'api', datacenter: 'dc2', localBindPort: 9000 }] });
    expect(() => synthJson(stack)).toThrow(/\[test\/web\] upstream "api" \(dc2\) resolves to mesh gateway mode none, set by built-in default \(got: "none"\), but datacenter "dc1" is not directly routable to "dc2"\. Set local or remote/);
  });

  test('warns, and still synthesizes, for cross-datacenter none where workloads route directly', () => {
    const stack = newStack();
    const service = buildModeCase(stack, MODE_CASES[0]);
    expect(() => synthJson(stack)).not.toThrow();
    const warnings = service.node.metadata.filter((m) => m.type === AnnotationMetadataEntryType.WARN).map((m) => m.data);
    expect(warnings).toEqual([expect.stringMatching(/^upstream "api" \(dc2\) resolves to mesh gateway mode none, set by built-in default: traffic to dc2 goes directly/)]);
  });

  test('says nothing about none for an upstream in the same datacenter', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    const web = new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 80, upstreams: [{ service: 'db', localBindPort: 9000 }] });
    expect(() => synthJson(stack)).not.toThrow();
    expect(web.node.metadata.filter((m) => m.type === AnnotationMetadataEntryType.WARN)).toEqual([]);
  });
});

describe('MeshService', () => {
  test('renders the agent service definition with sidecar and upstreams', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    const web = new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 8080, meshGatewayMode: MeshGatewayMode.local() });
    web.addUpstream({ service: 'api', datacenter: 'dc2', localBindPort: 9191, meshGatewayMode: MeshGatewayMode.remote() });
    web.addUpstream({ service: 'billing', peer: 'partner', localBindPort: 9192 });
    expect(JSON.parse(web.definitionJson)).toEqual({
      service: {
        name: 'web', id: 'web', port: 8080,
        connect: { sidecar_service: { proxy: {
          mesh_gateway: { mode: 'local' },
          upstreams: [
            { destination_name: 'api', datacenter: 'dc2', local_bind_port: 9191, mesh_gateway: { mode: 'remote' } },
            { destination_name: 'billing', destination_peer: 'partner', local_bind_port: 9192 },
          ],
        } } },
      },
    });
    expect(web.sidecarId).toBe('web-sidecar-proxy');
  });

  test('draws each upstream\'s path by its mode: local through both gateways, remote through the target\'s, none and same-datacenter directly', () => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    new MeshService(stack, 'web', {
      datacenter: fed.primary, service: 'web', port: 80, upstreams: [
        { service: 'api', datacenter: 'dc2', localBindPort: 9001, meshGatewayMode: MeshGatewayMode.local() },
        { service: 'search', datacenter: 'dc2', localBindPort: 9002, meshGatewayMode: MeshGatewayMode.remote() },
        { service: 'cache', datacenter: 'dc2', localBindPort: 9003, meshGatewayMode: MeshGatewayMode.none() },
        { service: 'billing', localBindPort: 9004 },
        { service: 'orders', peer: 'partner', localBindPort: 9005 },
      ],
    });
    const diagram = MeshGatewayModes.renderDiagram(MeshGatewayModes.explain(stack));
    const lines = diagram.trimEnd().split('\n');
    expect(lines[0]).toBe('flowchart LR');
    expect(lines.filter((l) => l.includes('-->'))).toEqual([
      '  svc_dc1_web -- "api: local" --> gw_dc1 --> gw_dc2 --> svc_dc2_api',
      '  svc_dc1_web -- "search: remote" --> gw_dc2 --> svc_dc2_search',
      '  svc_dc1_web -- "cache: none" --> svc_dc2_cache',
      '  svc_dc1_web -- "billing: same datacenter" --> svc_dc1_billing',
      '  svc_dc1_web -- "orders: remote" --> gw_peer_partner --> svc_peer_partner_orders',
    ]);
    // Each node sits in the box of its datacenter or peer.
    expect(diagram).toContain('  subgraph box_dc1["dc1"]\n    gw_dc1{{"mesh gateway"}}\n    svc_dc1_billing["billing"]\n    svc_dc1_web["web"]\n  end');
    expect(diagram).toContain('  subgraph box_peer_partner["peer:partner"]\n    gw_peer_partner{{"mesh gateway"}}\n    svc_peer_partner_orders["orders"]\n  end');
  });

  test('a report writes the mode table, its diagram and the definitions next to the stack', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'modes');
    buildModeCase(stack, MODE_CASES[1]);
    new MeshGatewayModeReport(stack, 'report');
    app.synth();
    const dir = `${app.outdir}/stacks/modes`;
    expect(fs.readFileSync(`${dir}/mesh-gateway-modes.txt`, 'utf8')).toContain('proxy-defaults MeshGateway');
    expect(fs.readFileSync(`${dir}/mesh-gateway-modes.mmd`, 'utf8')).toBe(MeshGatewayModes.renderDiagram(MeshGatewayModes.explain(app)));
    expect(JSON.parse(fs.readFileSync(`${dir}/services/dc1-web.json`, 'utf8')).service.name).toBe('web');
  });

  test('writes nothing beside the stack without a report, and only the table and diagram when asked', () => {
    const app = Testing.app();
    buildModeCase(new TerraformStack(app, 'bare'), MODE_CASES[1]);
    const other = new TerraformStack(app, 'tables');
    buildModeCase(other, MODE_CASES[1]);
    new MeshGatewayModeReport(other, 'report', { serviceDefinitions: false });
    app.synth();
    expect(fs.readdirSync(`${app.outdir}/stacks/bare`).sort()).toEqual(['cdk.tf.json']);
    expect(fs.readdirSync(`${app.outdir}/stacks/tables`).sort()).toEqual(['cdk.tf.json', 'mesh-gateway-modes.mmd', 'mesh-gateway-modes.txt']);
  });

  test('refuses a second report in one stack', () => {
    const stack = newStack();
    new MeshGatewayModeReport(stack, 'report');
    expect(() => new MeshGatewayModeReport(stack, 'again')).toThrow(/^test\/again: stack test already has a mesh gateway mode report at test\/report \(got: "again"\)\. Add one report per stack/);
  });

  test.each([
    ['rejects two upstreams on one local port', { upstreams: [{ service: 'a', localBindPort: 9000 }, { service: 'b', localBindPort: 9000 }] },
      /^test\/web: upstreams "a" and "b" bind the same local port \(got: 9000\)\. Give each upstream its own localBindPort\./],
    ['rejects an upstream with both peer and datacenter', { upstreams: [{ service: 'a', localBindPort: 9000, peer: 'p', datacenter: 'dc2' }] },
      /^test\/web: upstream "a" names both a peer and a datacenter \(got: \{"peer":"p","datacenter":"dc2"\}\)\. A peered upstream lives in the peer's cluster/],
    ['rejects a bad local port', { upstreams: [{ service: 'a', localBindPort: 70000 }] }, /^test\/web: localBindPort must be a TCP port \(got: 70000\)/],
  ])('%s', (_name, extra, message) => {
    const stack = newStack();
    const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
    expect(() => new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 80, ...extra })).toThrow(message);
  });
});

test('explain after a synthesis sees what was added since', () => {
  const stack = new TerraformStack(Testing.app(), 'later');
  const fed = new ConsulFederation(stack, 'fed', { primary: { name: 'dc1' }, secondaries: [{ name: 'dc2' }] });
  const web = new MeshService(stack, 'web', { datacenter: fed.primary, service: 'web', port: 80, upstreams: [{ service: 'api', datacenter: 'dc2', localBindPort: 9000 }] });
  Testing.synth(stack); // runs the finalize pass (validations off: none across datacenters would be refused)
  expect(MeshGatewayModes.explain(stack).map((r) => r.mode)).toEqual(['none']);
  new ProxyDefaults(stack, 'pd', { datacenter: fed.primary, meshGatewayMode: MeshGatewayMode.remote() });
  web.addUpstream({ service: 'db', datacenter: 'dc2', localBindPort: 9001 });
  expect(MeshGatewayModes.explain(stack).map((r) => [r.upstream, r.mode])).toEqual([['api', 'remote'], ['db', 'remote']]);
});
