import { Construct } from 'constructs';
import { ConsulVersion } from './consul-version';
import { IDatacenter, providerAlias } from './datacenter';
import { DatacenterRuntime, OPERATOR_RUNTIME } from './runtime';
import { IngressGateway, IngressGatewayOptions } from '../gateways/ingress-gateway';
import { MeshGateway, MeshGatewayOptions } from '../gateways/mesh-gateway';
import { TerminatingGateway, TerminatingGatewayOptions } from '../gateways/terminating-gateway';
import { ConsulProvider } from '../internal/providers';
import { ITerraformDependable, TerraformStack } from '../internal/tf';

/** What a datacenter settles about itself in its constructor, before anything reads it. @internal */
export interface DatacenterIdentity {
  readonly name: string;
  readonly primaryDatacenter: string;
  readonly cluster: string;
  readonly connectEnabled: boolean;
  readonly consulVersion: ConsulVersion;
  readonly directlyRoutable: boolean;
}

/** How its providers reach its HTTP API. @internal */
export interface DatacenterApi {
  readonly address: string;
  readonly scheme: string;
  readonly token: string;
  readonly caPem?: string;
  readonly caFile?: string;
}

/**
 * What every datacenter flavour shares: its identity and providers, which a
 * subclass settles once in its constructor (`_settle`, `_connect`), and the
 * gateways added to it.
 */
export abstract class DatacenterBase extends Construct implements IDatacenter {
  public abstract readonly readiness: ITerraformDependable[];
  private _identity?: DatacenterIdentity;
  private _providers?: { readonly provider: ConsulProvider; readonly globalProvider: ConsulProvider };
  private _api?: DatacenterApi;

  /** The datacenter name Consul knows (`datacenter` in the agent config). */
  public get name(): string {
    return this.identity.name;
  }

  /** The federation's primary datacenter (this one's own name when it is the primary). */
  public get primaryDatacenter(): string {
    return this.identity.primaryDatacenter;
  }

  /** The cluster (a federation, or one datacenter alone) it belongs to, unique in the stack (see `IDatacenter.cluster`). */
  public get cluster(): string {
    return this.identity.cluster;
  }

  /** Whether Connect (service mesh) is enabled on its servers. */
  public get connectEnabled(): boolean {
    return this.identity.connectEnabled;
  }

  /** The Consul version its servers run. */
  public get consulVersion(): ConsulVersion {
    return this.identity.consulVersion;
  }

  /** Whether its workloads reach other datacenters' workloads without mesh gateways. */
  public get directlyRoutable(): boolean {
    return this.identity.directlyRoutable;
  }

  /** The `consul` provider that manages it, aliased after it. */
  public get provider(): ConsulProvider {
    return this.providers.provider;
  }

  /** The provider for global state (ACLs, config entries): `provider` in a primary, else one that addresses the primary. */
  public get globalProvider(): ConsulProvider {
    return this.providers.globalProvider;
  }

  /** Records what the subclass settled about itself. @internal */
  protected _settle(identity: DatacenterIdentity): void {
    this._identity = identity;
  }

  /**
   * Creates its provider and global provider, once its identity is settled
   * (their aliases name it). A secondary given its `primary` shares that one's
   * provider as its global provider, where both are in one stack and address
   * the same API the same way. @internal
   */
  protected _connect(api: DatacenterApi, globalApi: DatacenterApi = api, primary?: DatacenterBase): void {
    const provider = new ConsulProvider(this, 'Provider', { ...api, alias: providerAlias(this), datacenter: this.name });
    this._api = api;
    this._providers = { provider, globalProvider: this._createGlobalProvider(provider, globalApi, primary) };
  }

  private get identity(): DatacenterIdentity {
    if (this._identity === undefined) throw new Error(`${this.node.path}: read before its constructor settled what it is`);
    return this._identity;
  }

  private get providers(): { provider: ConsulProvider; globalProvider: ConsulProvider } {
    if (this._providers === undefined) throw new Error(`${this.node.path}: its providers are read before its constructor created them`);
    return this._providers;
  }

  /**
   * `provider` in a primary; in a secondary, the primary's own provider when
   * it is configured as `config` is in this stack (OpenTofu starts a plugin
   * process for each provider configuration a command uses: one per secondary
   * fewer, 0.13 CPU-seconds each in every plan, apply and destroy); otherwise a
   * second alias (`<alias>-global`) whose requests carry `?dc=<primary>`, at the
   * primary's API where the subclass knows it, else at the secondary's own,
   * which forwards them.
   */
  private _createGlobalProvider(provider: ConsulProvider, config: DatacenterApi, primary?: DatacenterBase): ConsulProvider {
    if (this.isPrimary) return provider;
    if (primary !== undefined && primary.name === this.primaryDatacenter && TerraformStack.of(primary) === TerraformStack.of(this)
      && primary._api !== undefined && sameApi(primary._api, config)) {
      return primary.provider;
    }
    return new ConsulProvider(this, 'GlobalProvider', { ...config, alias: `${providerAlias(this)}-global`, datacenter: this.primaryDatacenter });
  }

  /**
   * What runs this datacenter's processes (lib/datacenter/runtime.ts): the
   * operator's unless a subclass runs them.
   * @internal
   */
  public get _runtime(): DatacenterRuntime {
    return OPERATOR_RUNTIME;
  }

  /** True when this datacenter is its federation's primary. */
  public get isPrimary(): boolean {
    return this.name === this.primaryDatacenter;
  }

  /** Adds a mesh gateway, with its ACL policy and token, to this datacenter; returns it. */
  public addMeshGateway(id: string, options: MeshGatewayOptions = {}): MeshGateway {
    return new MeshGateway(this, id, { ...options, datacenter: this });
  }

  /** Adds an ingress gateway, with its config entry, ACL policy and token, to this datacenter; returns it. */
  public addIngressGateway(id: string, options: IngressGatewayOptions = {}): IngressGateway {
    return new IngressGateway(this, id, { ...options, datacenter: this });
  }

  /** Adds a terminating gateway, with its config entry, ACL policy and token, to this datacenter; returns it. */
  public addTerminatingGateway(id: string, options: TerminatingGatewayOptions = {}): TerminatingGateway {
    return new TerminatingGateway(this, id, { ...options, datacenter: this });
  }
}

/**
 * Whether two provider configurations address the same API the same way:
 * every field of either, so one added to DatacenterApi is compared too.
 */
function sameApi(a: DatacenterApi, b: DatacenterApi): boolean {
  const fields = new Set([...Object.keys(a), ...Object.keys(b)] as Array<keyof DatacenterApi>);
  return [...fields].every((field) => a[field] === b[field]);
}
