import { IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';

const VALUES = ['local', 'remote', 'none', ''] as const;

/**
 * How a proxy reaches an upstream in another datacenter or peer: through its
 * own datacenter's mesh gateway (`local`), straight to the remote gateway
 * (`remote`), or directly (`none`). `MeshGatewayMode.inherit` leaves the
 * decision to the next layer down (upstream > service instance >
 * service-defaults > proxy-defaults).
 */
export class MeshGatewayMode {
  /** Send cross-datacenter traffic through the local datacenter's mesh gateway. */
  public static local(): MeshGatewayMode {
    return new MeshGatewayMode('local');
  }

  /** Send cross-datacenter traffic straight to the destination's mesh gateway. */
  public static remote(): MeshGatewayMode {
    return new MeshGatewayMode('remote');
  }

  /**
   * Connect directly to the destination, without gateways. A value, not an
   * absence: it overrides lower layers.
   */
  public static none(): MeshGatewayMode {
    return new MeshGatewayMode('none');
  }

  /** Set nothing at this layer: the next one down decides. */
  public static inherit(): MeshGatewayMode {
    return new MeshGatewayMode('');
  }

  /**
   * A mode from its Consul spelling (`local`, `remote`, `none`, or `""`).
   * @param scope where the value came from, named in the error if it is unknown
   */
  public static of(scope: IConstruct, value: string): MeshGatewayMode {
    if (!(VALUES as readonly string[]).includes(value)) {
      throw invalidInput(scope, 'unknown mesh gateway mode', value,
        'Use MeshGatewayMode.local(), .remote(), .none() or .inherit() (Consul accepts "local", "remote", "none" or "").');
    }
    return new MeshGatewayMode(value);
  }

  private constructor(
    /** The value Consul stores: `local`, `remote`, `none` or `""`. */
    public readonly value: string,
  ) {}

  /** True when this layer defers to the next one. */
  public get isInherit(): boolean {
    return this.value === '';
  }

  /** @internal */
  public _render(): { Mode: string } {
    return { Mode: this.value };
  }
}

/**
 * A mode prop as received: JavaScript and Python callers can pass anything,
 * e.g. the string "remote", which would otherwise fail far away.
 * @internal
 */
export function checkMode(scope: IConstruct, prop: string, value: MeshGatewayMode | undefined): MeshGatewayMode | undefined {
  if (value === undefined || value instanceof MeshGatewayMode) return value;
  const spelled = typeof value === 'string' && (VALUES as readonly string[]).includes(value)
    ? `MeshGatewayMode.${value === '' ? 'inherit' : value}()` : 'MeshGatewayMode.local(), .remote(), .none() or .inherit()';
  throw invalidInput(scope, `${prop} must be a MeshGatewayMode`, value, `Use ${spelled}.`);
}
