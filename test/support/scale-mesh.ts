// A realistic mesh of many services on one datacenter that already runs: what
// the entry-order suite applies and bench/entries.ts measures. Services come in
// pairs of one protocol (http, tcp, alternately); every service has its
// service-defaults (mesh gateway modes mixed) and an intention from the one
// before it; one service in ten has a resolver to its partner (a redirect, or
// a failover every other time), so Consul checks each resolver's chain
// against two service-defaults; one in twenty is exported to a peer.
import { TerraformStack, TerraformVariable } from 'cdktf';
import {
  ConsulVersion, ExistingDatacenter, ExportedServices, IntentionAction, MeshGatewayMode, Protocol, ProxyDefaults, ServiceDefaults, ServiceIntentions,
  ServiceResolver,
} from '../../lib';

export interface ScaleMeshOptions {
  /** Services (an even number). */
  readonly services: number;
  /** The HTTP API the provider talks to (host:port). */
  readonly address: string;
  /** The Consul version the datacenter runs. */
  readonly consulVersion: ConsulVersion;
}

export interface ScaleMeshCounts {
  readonly serviceDefaults: number;
  readonly intentions: number;
  readonly resolvers: number;
  readonly exported: number;
}

const MODES = [MeshGatewayMode.local(), MeshGatewayMode.remote(), MeshGatewayMode.none(), MeshGatewayMode.inherit()];

/** The name of service i. */
export function scaleService(i: number): string {
  return `svc${i}`;
}

/** The protocol of service i: pairs (0,1), (2,3), ... alternate http and tcp. */
export function scaleProtocol(i: number): Protocol {
  return Math.floor(i / 2) % 2 === 0 ? Protocol.HTTP : Protocol.TCP;
}

/** Declares the mesh in `stack` (variable `token`: the management token); returns how many of each entry it declared. */
export function declareScaleMesh(stack: TerraformStack, options: ScaleMeshOptions): ScaleMeshCounts {
  const token = new TerraformVariable(stack, 'token', { type: 'string', sensitive: true });
  const dc = new ExistingDatacenter(stack, 'dc1', { name: 'dc1', address: options.address, token: token.stringValue, consulVersion: options.consulVersion });
  new ProxyDefaults(stack, 'proxy-defaults', { datacenter: dc, meshGatewayMode: MeshGatewayMode.local() });
  const exports = new ExportedServices(stack, 'exports', { datacenter: dc });
  let resolvers = 0;
  let exported = 0;
  for (let i = 0; i < options.services; i++) {
    const service = scaleService(i);
    new ServiceDefaults(stack, `defaults-${service}`, { datacenter: dc, service, protocol: scaleProtocol(i), meshGatewayMode: MODES[i % MODES.length] });
    new ServiceIntentions(stack, `intentions-${service}`, {
      datacenter: dc, destination: service, sources: [{ name: scaleService((i + options.services - 1) % options.services), action: IntentionAction.allow() }],
    });
    if (i % 10 === 0) {
      const partner = { service: scaleService(i + 1) };
      new ServiceResolver(stack, `resolver-${service}`, { datacenter: dc, service, ...(i % 20 === 0 ? { redirect: partner } : { failover: [partner] }) });
      resolvers++;
    }
    if (i % 20 === 10) {
      exports.exportService(service, ['partner']);
      exported++;
    }
  }
  return { serviceDefaults: options.services, intentions: options.services, resolvers, exported };
}
