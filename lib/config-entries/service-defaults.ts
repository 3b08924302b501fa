import { Construct } from 'constructs';
import { configEntryResource } from './config-entry-resource';
import { FEATURES, requireFeature } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput } from '../internal/errors';
import { checkServiceName } from '../internal/names';
import { ConfigEntry } from '../internal/providers';
import { checkProtocol, Protocol } from './protocol';
import { checkKeys } from '../internal/validation';
import { StackRecords } from '../internal/stack-records';
import { checkMode, MeshGatewayMode } from '../modes/mesh-gateway-mode';
import { MODE_LAYERS } from '../modes/mode-layers';

/** An `UpstreamConfig.Overrides[]` item: settings for one named upstream. */
export interface UpstreamOverride {
  /** The upstream service these settings apply to. */
  readonly service: string;

  /**
   * The cluster peer the upstream lives in.
   * @default - an upstream of this cluster (or another federated datacenter)
   */
  readonly peer?: string;

  /**
   * Mesh gateway mode for this upstream; beats the service instance's mode.
   * @default MeshGatewayMode.inherit()
   */
  readonly meshGatewayMode?: MeshGatewayMode;
}

/** Props of `ServiceDefaults`. */
export interface ServiceDefaultsProps {
  /** Datacenter to write the entry through. */
  readonly datacenter: IDatacenter;

  /** Service the entry configures. */
  readonly service: string;

  /**
   * Protocol of the service.
   * @default - unset (proxy-defaults' protocol, else Protocol.TCP)
   */
  readonly protocol?: Protocol;

  /**
   * Mesh gateway mode of this service's proxies (beats proxy-defaults).
   * @default MeshGatewayMode.inherit()
   */
  readonly meshGatewayMode?: MeshGatewayMode;

  /**
   * Mode for every upstream of this service (`UpstreamConfig.Defaults`):
   * beats the service's own mode, loses to the service instance's.
   * @default MeshGatewayMode.inherit()
   */
  readonly upstreamDefaultsMeshGatewayMode?: MeshGatewayMode;

  /**
   * Settings for named upstreams (`UpstreamConfig.Overrides`).
   * @default - none
   */
  readonly upstreamOverrides?: UpstreamOverride[];
}

/** The `service-defaults` config entry of one service. */
export class ServiceDefaults extends Construct {
  /** The service the entry configures. */
  public readonly service: string;
  /** Mesh gateway mode at the service-defaults layer. */
  public readonly meshGatewayMode: MeshGatewayMode;
  /** Mesh gateway mode of `UpstreamConfig.Defaults`. */
  public readonly upstreamDefaultsMeshGatewayMode: MeshGatewayMode;
  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** The underlying `consul_config_entry`. */
  public readonly resource: ConfigEntry;
  /** The protocol it sets, if any. */
  public readonly protocol?: Protocol;
  private readonly overrides: UpstreamOverride[] = [];

  constructor(scope: Construct, id: string, props: ServiceDefaultsProps) {
    super(scope, id);
    this.service = checkServiceName(this, 'service', props.service);
    this.datacenter = props.datacenter;
    this.protocol = props.protocol === undefined ? undefined : checkProtocol(this, props.protocol);
    this.meshGatewayMode = checkMode(this, 'meshGatewayMode', props.meshGatewayMode) ?? MeshGatewayMode.inherit();
    this.upstreamDefaultsMeshGatewayMode = checkMode(this, 'upstreamDefaultsMeshGatewayMode', props.upstreamDefaultsMeshGatewayMode) ?? MeshGatewayMode.inherit();
    if (props.upstreamOverrides) this.overrides.push(...checkOverrides(this, props.upstreamOverrides));
    this.resource = configEntryResource(this, props.datacenter, 'service-defaults', this.service, { render: () => this._renderBody() });
    StackRecords.of(this).add(MODE_LAYERS.serviceDefaults, this);
  }

  /** Adds settings for one named upstream; returns them as stored. */
  public addUpstreamOverride(override: UpstreamOverride): UpstreamOverride {
    this.overrides.push(...checkOverrides(this, [...this.overrides, override]).slice(this.overrides.length));
    return override;
  }

  /** The upstream overrides, in the order added. */
  public get upstreamOverrides(): UpstreamOverride[] {
    return [...this.overrides];
  }

  /**
   * The config_json body (everything but Kind and Name), with the empty
   * objects Consul returns (see ProxyDefaults._renderBody).
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    // Built field by field rather than by spreading: it runs once per entry,
    // and stacks hold thousands of entries (see bench/synth.ts).
    const body: Record<string, unknown> = {};
    if (this.protocol) body.Protocol = this.protocol;
    body.TransparentProxy = {};
    body.MeshGateway = this.meshGatewayMode._render();
    body.Expose = {};
    const defaults = this.upstreamDefaultsMeshGatewayMode;
    if (this.overrides.length > 0 || !defaults.isInherit) {
      const upstreamConfig: Record<string, unknown> = {};
      if (this.overrides.length > 0) upstreamConfig.Overrides = this.overrides.map(renderOverride);
      if (!defaults.isInherit) upstreamConfig.Defaults = { MeshGateway: defaults._render() };
      body.UpstreamConfig = upstreamConfig;
    }
    return body;
  }
}

function renderOverride(o: UpstreamOverride): Record<string, unknown> {
  const rendered: Record<string, unknown> = { Name: o.service };
  if (o.peer) rendered.Peer = o.peer;
  rendered.MeshGateway = (o.meshGatewayMode ?? MeshGatewayMode.inherit())._render();
  return rendered;
}

const UPSTREAM_OVERRIDE: Record<keyof UpstreamOverride, true> = { service: true, peer: true, meshGatewayMode: true };

/** One override per upstream (service and peer): a second would silently shadow the first. */
function checkOverrides(scope: ServiceDefaults, overrides: UpstreamOverride[]): UpstreamOverride[] {
  const seen = new Set<string>();
  for (const [i, o] of overrides.entries()) {
    checkKeys(scope, `upstreamOverrides[${i}]`, o, UPSTREAM_OVERRIDE, 'UpstreamOverride');
    // Consul refuses a wildcard override: UpstreamConfig.Defaults is the one for every upstream.
    if (o.service === '*') {
      throw invalidInput(scope, `upstreamOverrides[${i}] must name one upstream: Consul refuses "*" there`, o.service,
        'Set the mode of every upstream with upstreamDefaultsMeshGatewayMode.');
    }
    checkServiceName(scope, `upstreamOverrides[${i}].service`, o.service);
    checkMode(scope, `upstreamOverrides[${i}].meshGatewayMode`, o.meshGatewayMode);
    if (o.peer !== undefined) {
      requireFeature(scope, scope.datacenter.consulVersion, FEATURES.upstreamOverridePeer, { service: o.service, peer: o.peer },
        'Drop `peer` and set the mode on the sidecar\'s upstream instead (MeshService upstreams take `peer` and `meshGatewayMode`).');
    }
    const key = `${o.service}\u0000${o.peer ?? ''}`;
    if (seen.has(key)) {
      throw invalidInput(scope, 'an upstream override for this service (and peer) already exists', o.service,
        'Give each upstream one override; set its meshGatewayMode there.');
    }
    seen.add(key);
  }
  return overrides;
}
