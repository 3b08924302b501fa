import { Construct } from 'constructs';
import { ConsulVersion } from './consul-version';
import { IDatacenter, providerAlias } from './datacenter';
import { DatacenterRuntime, OPERATOR_RUNTIME } from './runtime';
import { IngressGateway, IngressGatewayOptions } from '../gateways/ingress-gateway';
import { MeshGateway, MeshGatewayOptions } from '../gateways/mesh-gateway';
import { TerminatingGateway, TerminatingGatewayOptions } from '../gateways/terminating-gateway';
import { ConsulProvider } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

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
  protected _createGlobalProvider(provider: ConsulProvider, config: { address: string; scheme: string; token: string; caPem?: string }): ConsulProvider {
    if (this.isPrimary) return provider;
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
