import { ITerraformDependable } from '../internal/tf';
import { Construct } from 'constructs';
import { ApiScheme } from './api-scheme';
import { checkConsulVersion, ConsulVersion } from './consul-version';
import { claimProviderAlias } from './datacenter';
import { DatacenterBase } from './datacenter-base';
import { invalidInput } from '../internal/errors';
import { requireReference, tokenVariable } from '../internal/secrets';
import { checkDatacenterName, checkHostPort } from '../internal/validation';

/** A Consul datacenter that already runs. */
export interface ExistingDatacenterProps {
  /** Its datacenter name. */
  readonly name: string;

  /** `host:port` of its HTTP API. */
  readonly address: string;

  /**
   * How to talk to its HTTP API.
   * @default ApiScheme.HTTP
   */
  readonly scheme?: ApiScheme;

  /**
   * Its primary datacenter.
   * @default - this datacenter
   */
  readonly primaryDatacenter?: string;

  /**
   * The cluster it belongs to, unique in the stack (see `IDatacenter.cluster`).
   * Set it when two clusters in the stack name their primary alike, e.g. two
   * independently installed clusters that are both `dc1`; their providers are
   * then aliased `<cluster>-<name>`.
   * @default - the primary datacenter's name
   */
  readonly cluster?: string;

  /**
   * A token that may write ACLs and config entries, as a reference (never a literal).
   * @default - a sensitive variable `<id>_token`
   */
  readonly token?: string;

  /**
   * Whether Connect is enabled on its servers.
   * @default true
   */
  readonly connect?: boolean;

  /**
   * The Consul version its servers run, which decides what the library
   * renders (see `ConsulVersion`).
   * @default ConsulVersion.V1_19_2
   */
  readonly consulVersion?: ConsulVersion;

  /**
   * Whether its workloads can reach other datacenters' workloads without gateways.
   * @default true
   */
  readonly directlyRoutable?: boolean;

  /**
   * CA certificate file for an https address.
   * @default - the system's trust store
   */
  readonly caFile?: string;
}

/**
 * A datacenter that runs elsewhere, managed through its HTTP API. Every
 * construct that takes an `IDatacenter` works with it; gateways get
 * their policy and token, and their process is the operator's.
 */
export class ExistingDatacenter extends DatacenterBase {
  /** None: it runs already. */
  public readonly readiness: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: ExistingDatacenterProps) {
    super(scope, id);
    checkDatacenterName(this, props.name);
    checkHostPort(this, 'address must be host:port of the HTTP API', props.address, 'Use e.g. "127.0.0.1:8500" or "[::1]:8500" (no scheme: set `scheme`).');
    const scheme = props.scheme ?? ApiScheme.HTTP;
    if (scheme !== ApiScheme.HTTP && scheme !== ApiScheme.HTTPS) {
      throw invalidInput(this, 'scheme must be an ApiScheme', scheme, 'Use ApiScheme.HTTP or ApiScheme.HTTPS.');
    }
    const primaryDatacenter = checkDatacenterName(this, props.primaryDatacenter ?? props.name);
    this._settle({
      name: props.name,
      primaryDatacenter,
      cluster: checkDatacenterName(this, props.cluster ?? primaryDatacenter, 'cluster'),
      connectEnabled: props.connect ?? true,
      consulVersion: checkConsulVersion(this, props.consulVersion ?? ConsulVersion.V1_19_2),
      directlyRoutable: props.directlyRoutable ?? true,
    });
    const token = props.token !== undefined
      ? requireReference(this, 'token', props.token)
      : tokenVariable(this, 'token', `Consul token for datacenter ${props.name} (acl:write, operator:write, mesh:write)`).stringValue;
    const api = { address: props.address, scheme, token, caFile: props.caFile };
    claimProviderAlias(this, 'Declare each datacenter once; for two clusters that both name a datacenter alike, give one of them its own `cluster` (e.g. cluster: "west").');
    this._connect(api);
  }
}
