// The layers the mode resolution reads, as each construct records itself
// (services, ingress gateways, service-defaults, proxy-defaults, resolvers),
// so that resolution knows none of their classes.
import { IConstruct } from 'constructs';
import { MeshGatewayMode } from './mesh-gateway-mode';
import type { IDatacenter } from '../datacenter/datacenter';
import { RecordList } from '../internal/stack-records';

/** An upstream as the resolver reads it (a MeshService's UpstreamOptions). @internal */
export interface ModeUpstream {
  readonly service: string;
  readonly datacenter?: string;
  readonly peer?: string;
  readonly meshGatewayMode?: MeshGatewayMode;
}

/** A service instance as the resolver reads it (a MeshService). @internal */
export interface ModeService extends IConstruct {
  readonly service: string;
  /** Its agent service definition (JSON). */
  readonly definitionJson: string;
  /** The ID its sidecar registers under. */
  readonly sidecarId: string;
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
  readonly upstreams: ModeUpstream[];
}

/** An upstream override as the resolver reads it. @internal */
export interface ModeOverride {
  readonly service: string;
  readonly peer?: string;
  readonly meshGatewayMode?: MeshGatewayMode;
}

/** A service-defaults entry as the resolver reads it. @internal */
export interface ModeServiceDefaults extends IConstruct {
  readonly service: string;
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
  readonly upstreamDefaultsMeshGatewayMode: MeshGatewayMode;
  readonly upstreamOverrides: ModeOverride[];
}

/** A proxy-defaults entry as the resolver reads it. @internal */
export interface ModeProxyDefaults extends IConstruct {
  readonly datacenter: IDatacenter;
  readonly meshGatewayMode: MeshGatewayMode;
}

/** Where a resolver sends traffic, as the resolver reads it. @internal */
export interface ModeTarget {
  readonly service?: string;
  readonly datacenter?: string;
  readonly peer?: string;
}

/** A service-resolver entry as the resolver reads it. @internal */
export interface ModeResolver extends IConstruct {
  readonly service: string;
  readonly datacenter: IDatacenter;
  readonly redirect?: ModeTarget;
  readonly failover: ModeTarget[];
}

/** An ingress gateway as the resolver reads it: its listeners' services are its upstreams. @internal */
export interface ModeIngress extends IConstruct {
  readonly serviceName: string;
  readonly datacenter: IDatacenter;
  readonly listeners: { readonly services: { readonly name: string }[] }[];
}

/** Where each layer records itself, in its own stack. @internal */
export const MODE_LAYERS = {
  services: new RecordList<ModeService>('mode-services'),
  ingressGateways: new RecordList<ModeIngress>('mode-ingress-gateways'),
  serviceDefaults: new RecordList<ModeServiceDefaults>('mode-service-defaults'),
  proxyDefaults: new RecordList<ModeProxyDefaults>('mode-proxy-defaults'),
  resolvers: new RecordList<ModeResolver>('mode-resolvers'),
};

/** A downstream the resolver explains: a service with a sidecar, or an ingress gateway. @internal */
export type ModeDownstream = ModeService | ModeIngress;
