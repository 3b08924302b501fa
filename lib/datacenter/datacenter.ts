import { ITerraformDependable } from '../internal/tf';
import { Construct, IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';
import { ConsulProvider } from '../internal/providers';
import { validateAppBeforeWriting } from '../internal/app-validation';
import { StackRegistry } from '../internal/stack-registry';
import { ConsulVersion } from './consul-version';
import { MeshGateway, MeshGatewayOptions } from '../gateways/mesh-gateway';

/** A Consul datacenter that constructs can configure, whoever runs it. */
export interface IDatacenter extends IConstruct {
  /** The datacenter name Consul knows (`datacenter` in the agent config). */
  readonly name: string;

  /** The federation's primary datacenter (this one's own name when it is the primary). */
  readonly primaryDatacenter: string;

  /**
   * The cluster (a federation, or one datacenter alone) this datacenter
   * belongs to, unique in the stack. Config entries are one per cluster;
   * peering joins two clusters. The primary's name unless told otherwise:
   * two clusters that both call their primary `dc1` need distinct ones.
   */
  readonly cluster: string;

  /** The `consul` provider that manages this datacenter. */
  readonly provider: ConsulProvider;

  /**
   * The provider for global state (ACL policies and tokens, config entries):
   * it addresses the primary datacenter. A secondary forwards such writes to
   * the primary but answers reads from a replica that lags, so a read right
   * after a write (the token secret, the provider's refresh) can miss.
   * The same as `provider` in a primary.
   */
  readonly globalProvider: ConsulProvider;

  /** Whether Connect (service mesh) is enabled on its servers. */
  readonly connectEnabled: boolean;

  /**
   * The Consul version its servers run: the library renders only what this
   * version accepts, and refuses at synth what it lacks.
   */
  readonly consulVersion: ConsulVersion;

  /**
   * Whether its workloads can reach workloads in other datacenters without
   * mesh gateways. Decides whether a cross-datacenter upstream in mode
   * `none` is an error or a warning.
   */
  readonly directlyRoutable: boolean;

  /**
   * Resources that must be complete before anything is written to this
   * datacenter (e.g. its servers reporting a leader). Empty for a datacenter
   * that already runs.
   */
  readonly readiness: ITerraformDependable[];

  /** Adds a mesh gateway, with its ACL policy and token, to this datacenter. */
  addMeshGateway(id: string, options?: MeshGatewayOptions): MeshGateway;
}

/** What every datacenter flavour shares. */
export abstract class DatacenterBase extends Construct implements IDatacenter {
  public abstract readonly name: string;
  public abstract readonly primaryDatacenter: string;
  public abstract readonly cluster: string;
  public abstract readonly provider: ConsulProvider;
  public abstract readonly globalProvider: ConsulProvider;
  public abstract readonly connectEnabled: boolean;
  public abstract readonly consulVersion: ConsulVersion;
  public abstract readonly directlyRoutable: boolean;
  public abstract readonly readiness: ITerraformDependable[];

  /**
   * `provider` in a primary; in a secondary, a second alias (`<alias>-global`)
   * on the same address whose requests carry `?dc=<primary>`.
   * @internal
   */
  protected _createGlobalProvider(provider: ConsulProvider, config: { address: string; scheme: string; token: string; caFile?: string }): ConsulProvider {
    if (this.isPrimary) return provider;
    return new ConsulProvider(this, 'GlobalProvider', { ...config, alias: `${providerAlias(this)}-global`, datacenter: this.primaryDatacenter });
  }

  /** True when this datacenter is its federation's primary. */
  public get isPrimary(): boolean {
    return this.name === this.primaryDatacenter;
  }

  public addMeshGateway(id: string, options: MeshGatewayOptions = {}): MeshGateway {
    return new MeshGateway(this, id, { ...options, datacenter: this });
  }
}

/**
 * The datacenter's name in the stack: its provider alias and the prefix of
 * files written per datacenter. The datacenter name, qualified by the
 * cluster when that is not the primary's name (two clusters' `dc1`).
 * @internal
 */
export function providerAlias(dc: IDatacenter): string {
  return dc.cluster === dc.primaryDatacenter ? dc.name : `${dc.cluster}-${dc.name}`;
}

const aliases = new StackRegistry<IDatacenter>();

/**
 * Two datacenters with one provider alias would be one provider to Terraform
 * (which refuses the duplicate), and one cluster to the config entries.
 * @internal
 */
export function claimProviderAlias(dc: IDatacenter, fix: string): void {
  validateAppBeforeWriting(dc);
  const taken = aliases.of(dc);
  const alias = providerAlias(dc);
  const first = taken.get(alias);
  if (first !== undefined) {
    throw invalidInput(dc, `datacenter "${dc.name}" of cluster "${dc.cluster}" is already declared at ${first.node.path}`, dc.name, fix);
  }
  taken.set(alias, dc);
}
