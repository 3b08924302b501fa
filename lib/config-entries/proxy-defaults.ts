import { Construct } from 'constructs';
import { configEntryResource } from './config-entry-resource';
import { checkProtocol, Protocol } from './protocol';
import { FEATURES, supports } from '../datacenter/consul-version';
import type { IDatacenter } from '../datacenter/datacenter';
import { ConfigEntry } from '../internal/providers';
import { StackRecords } from '../internal/stack-records';
import { checkKeys } from '../internal/validation';
import { checkMode, MeshGatewayMode } from '../modes/mesh-gateway-mode';
import { MODE_LAYERS } from '../modes/mode-layers';

/** Props of `ProxyDefaults`. */
export interface ProxyDefaultsProps {
  /** Datacenter to write the entry through (written in a secondary, it is forwarded to the primary). */
  readonly datacenter: IDatacenter;

  /**
   * Mesh gateway mode for every proxy, the weakest layer of precedence.
   * @default MeshGatewayMode.inherit() (Consul's default: none)
   */
  readonly meshGatewayMode?: MeshGatewayMode;

  /**
   * Default protocol of every service (`Config.protocol`).
   * @default - unset (Consul treats services as tcp)
   */
  readonly protocol?: Protocol;
}

const PROXY_DEFAULTS_PROPS: Record<keyof ProxyDefaultsProps, true> = { datacenter: true, meshGatewayMode: true, protocol: true };

/** The `proxy-defaults` config entry (always named `global`): mesh-wide proxy settings. */
export class ProxyDefaults extends Construct {
  /** The entry's name (always `global`). */
  public readonly name: string;
  /** Mesh gateway mode at the proxy-defaults layer. */
  public readonly meshGatewayMode: MeshGatewayMode;
  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** The underlying `consul_config_entry`. */
  public readonly resource: ConfigEntry;
  /** The protocol it sets, if any. */
  public readonly protocol?: Protocol;

  constructor(scope: Construct, id: string, props: ProxyDefaultsProps) {
    super(scope, id);
    // From JavaScript, a `name` (the prop this once had) would be ignored silently: Consul's only name is `global`.
    checkKeys(this, 'props', props, PROXY_DEFAULTS_PROPS, 'ProxyDefaultsProps');
    this.name = 'global';
    this.datacenter = props.datacenter;
    this.meshGatewayMode = checkMode(this, 'meshGatewayMode', props.meshGatewayMode) ?? MeshGatewayMode.inherit();
    this.protocol = props.protocol === undefined ? undefined : checkProtocol(this, props.protocol);
    this.resource = configEntryResource(this, props.datacenter, 'proxy-defaults', this.name, { render: () => this._renderBody() });
    StackRecords.of(this).add(MODE_LAYERS.proxyDefaults, this);
  }

  /**
   * The config_json body (everything but Kind and Name). `TransparentProxy`
   * and `AccessLogs` are pointers in Consul's API structs and come back as
   * `{}`: sent absent, they would decode to nil and show a diff on every plan.
   * Consul before 1.15 has no `AccessLogs` and refuses the key.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    return {
      ...(this.protocol ? { Config: { protocol: this.protocol } } : {}),
      TransparentProxy: {},
      MeshGateway: this.meshGatewayMode._render(),
      Expose: {},
      ...(supports(this.datacenter.consulVersion, FEATURES.accessLogs) ? { AccessLogs: {} } : {}),
    };
  }
}
