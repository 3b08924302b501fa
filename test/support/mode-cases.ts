// Combinations of mesh gateway mode layers, with the answer the resolver must
// give. The unit test checks the resolver against `expect`; the integration
// test checks the same cases against what real Consul reports.
import { TerraformStack, TerraformVariable } from 'cdktf';
import { ConsulVersion, ExistingDatacenter, MeshGatewayMode, MeshGatewayModeLayer, MeshService, ProxyDefaults, ServiceDefaults } from '../../lib';

type Mode = 'local' | 'remote' | 'none';

export interface ModeCase {
  readonly name: string;
  readonly proxyDefaults?: Mode;
  /** The downstream (web) service's service-defaults MeshGateway. */
  readonly downstream?: Mode;
  readonly upstreamDefaults?: Mode;
  readonly upstreamOverride?: Mode;
  /** Peer named on the override (when absent, the override names no peer). */
  readonly overridePeer?: string;
  readonly instance?: Mode;
  readonly upstream?: Mode;
  /** The destination (api) service's service-defaults MeshGateway. */
  readonly destination?: Mode;
  /** Upstream api lives in this peer instead of dc2. */
  readonly peer?: string;
  readonly expect: { readonly mode: string; readonly decidedBy: MeshGatewayModeLayer; readonly agentMode: string };
}

const L = MeshGatewayModeLayer;
export const MODE_CASES: ModeCase[] = [
  { name: 'nothing set', expect: { mode: 'none', decidedBy: L.BUILT_IN, agentMode: '' } },
  { name: 'proxy-defaults only', proxyDefaults: 'local', expect: { mode: 'local', decidedBy: L.PROXY_DEFAULTS, agentMode: 'local' } },
  { name: 'service-defaults beats proxy-defaults', proxyDefaults: 'local', downstream: 'remote', expect: { mode: 'remote', decidedBy: L.SERVICE_DEFAULTS, agentMode: 'remote' } },
  { name: 'upstream defaults beat service-defaults', proxyDefaults: 'local', downstream: 'remote', upstreamDefaults: 'none', expect: { mode: 'none', decidedBy: L.UPSTREAM_DEFAULTS, agentMode: 'none' } },
  { name: 'service instance beats upstream defaults', proxyDefaults: 'local', downstream: 'remote', upstreamDefaults: 'none', instance: 'local', expect: { mode: 'local', decidedBy: L.SERVICE_INSTANCE, agentMode: 'local' } },
  { name: 'upstream override beats service instance', proxyDefaults: 'local', instance: 'remote', upstreamOverride: 'none', expect: { mode: 'none', decidedBy: L.UPSTREAM_OVERRIDE, agentMode: 'none' } },
  { name: 'upstream beats everything', proxyDefaults: 'local', upstreamOverride: 'none', upstream: 'remote', expect: { mode: 'remote', decidedBy: L.UPSTREAM, agentMode: 'remote' } },
  { name: 'destination service-defaults when nothing else is set', destination: 'remote', expect: { mode: 'remote', decidedBy: L.DESTINATION_SERVICE_DEFAULTS, agentMode: '' } },
  { name: 'proxy-defaults beats destination service-defaults', proxyDefaults: 'local', destination: 'remote', expect: { mode: 'local', decidedBy: L.PROXY_DEFAULTS, agentMode: 'local' } },
  { name: 'upstream defaults beat destination service-defaults', upstreamDefaults: 'local', destination: 'remote', expect: { mode: 'local', decidedBy: L.UPSTREAM_DEFAULTS, agentMode: 'local' } },
  { name: 'instance none is a value, not an absence', instance: 'none', upstreamDefaults: 'local', expect: { mode: 'none', decidedBy: L.SERVICE_INSTANCE, agentMode: 'none' } },
  { name: 'instance beats downstream service-defaults', downstream: 'local', instance: 'remote', expect: { mode: 'remote', decidedBy: L.SERVICE_INSTANCE, agentMode: 'remote' } },
  { name: 'upstream defaults beat proxy-defaults', proxyDefaults: 'remote', upstreamDefaults: 'local', expect: { mode: 'local', decidedBy: L.UPSTREAM_DEFAULTS, agentMode: 'local' } },
  { name: 'peered: override naming the peer applies', peer: 'partner', overridePeer: 'partner', upstreamOverride: 'local', proxyDefaults: 'remote', expect: { mode: 'local', decidedBy: L.UPSTREAM_OVERRIDE, agentMode: 'local' } },
  { name: 'peered: override without the peer does not apply', peer: 'partner', upstreamOverride: 'local', proxyDefaults: 'remote', expect: { mode: 'remote', decidedBy: L.PROXY_DEFAULTS, agentMode: 'remote' } },
  { name: 'peered: nothing set goes through gateways (remote)', peer: 'partner', expect: { mode: 'remote', decidedBy: L.BUILT_IN, agentMode: '' } },
];

const MODES = { local: MeshGatewayMode.local, remote: MeshGatewayMode.remote, none: MeshGatewayMode.none };
const mode = (m?: Mode) => (m ? MODES[m]() : undefined);

/**
 * Builds the case: dc1 (primary) and dc2 at the given addresses, web in dc1
 * calling api, both datacenters running `consulVersion` (default: the
 * library's default version).
 */
export function buildModeCase(stack: TerraformStack, c: ModeCase, addresses = { dc1: '127.0.0.1:8500', dc2: '127.0.0.1:8501' },
  consulVersion?: ConsulVersion): MeshService {
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dc1 = new ExistingDatacenter(stack, 'dc1', { name: 'dc1', address: addresses.dc1, token: token.stringValue, consulVersion });
  new ExistingDatacenter(stack, 'dc2', { name: 'dc2', address: addresses.dc2, primaryDatacenter: 'dc1', token: token.stringValue, consulVersion });
  if (c.proxyDefaults) new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc1, meshGatewayMode: mode(c.proxyDefaults) });
  if (c.downstream || c.upstreamDefaults || c.upstreamOverride) {
    new ServiceDefaults(stack, 'web-defaults', {
      datacenter: dc1,
      service: 'web',
      meshGatewayMode: mode(c.downstream),
      upstreamDefaultsMeshGatewayMode: mode(c.upstreamDefaults),
      upstreamOverrides: c.upstreamOverride ? [{ service: 'api', peer: c.overridePeer, meshGatewayMode: mode(c.upstreamOverride) }] : [],
    });
  }
  if (c.destination) new ServiceDefaults(stack, 'api-defaults', { datacenter: dc1, service: 'api', meshGatewayMode: mode(c.destination) });
  return new MeshService(stack, 'web', {
    datacenter: dc1,
    service: 'web',
    port: 8080,
    meshGatewayMode: mode(c.instance),
    upstreams: [{ service: 'api', localBindPort: 9191, ...(c.peer ? { peer: c.peer } : { datacenter: 'dc2' }), meshGatewayMode: mode(c.upstream) }],
  });
}
