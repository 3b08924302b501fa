import { Construct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { gatewayHostOf, GatewayInstance } from '../internal/gateway-host';
import { dependsOnAll } from '../internal/dependencies';
import { AclPolicy, AclToken, DataConsulAclTokenSecretId } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';
import { checkImage } from '../internal/validation';

/** @internal */
export interface GatewayAclProps {
  readonly datacenter: IDatacenter;
  /** `mesh`, `ingress` or `terminating`. */
  readonly kind: string;
  readonly serviceName: string;
  readonly rules: string;
}

/**
 * A gateway's least-privilege identity: a policy valid only in its own
 * datacenter, a token, and the token's secret read back through a data
 * source so it is never written into the configuration.
 * @internal
 */
export class GatewayAcl extends Construct {
  public readonly policy: AclPolicy;
  public readonly token: AclToken;
  /** The token's SecretID: a sensitive data source reference. */
  public readonly secretId: string;
  /** The datacenter the gateway serves. */
  public readonly datacenter: IDatacenter;
  /** The token's SecretID, as something to depend on. */
  public readonly secret: ITerraformDependable;

  constructor(scope: Construct, id: string, props: GatewayAclProps) {
    super(scope, id);
    // Policies are global: the datacenter in the name keeps same-named gateways of a federation apart.
    const policyName = `${props.serviceName}-${props.datacenter.name}`;
    const description = `${props.kind[0].toUpperCase()}${props.kind.slice(1)} gateway ${props.serviceName} in ${props.datacenter.name}`;
    const { datacenter } = props;
    this.datacenter = datacenter;
    this.policy = new AclPolicy(this, 'Policy', {
      provider: datacenter.globalProvider,
      name: policyName,
      description,
      rules: props.rules,
      datacenters: [datacenter.name],
      dependsOn: dependsOnAll(datacenter.readiness),
    });
    this.token = new AclToken(this, 'Token', {
      provider: datacenter.globalProvider,
      description,
      policies: [this.policy.name],
    });
    const secret = new DataConsulAclTokenSecretId(this, 'Secret', {
      provider: datacenter.globalProvider,
      accessorId: this.token.accessorId,
    });
    this.secretId = secret.secretId;
    this.secret = secret;
  }
}

/** What differs between gateway kinds when their process is started. @internal */
export interface GatewayProcessOptions {
  readonly kind: string;
  readonly replicas: number;
  readonly port: number;
  readonly startEnvoy?: boolean;
  readonly envoyImage?: string;
  /** @default - in mesh-gateway federation, mesh gateways expose the servers */
  readonly exposeServers?: boolean;
  /** @default - nothing published */
  readonly publishedPorts?: () => number[];
}

/**
 * Starts the gateway's replicas where the datacenter runs processes itself
 * (Docker), registering with the gateway's own token once its secret is read.
 * A datacenter that already runs leaves the process to its operator: none.
 * @internal
 */
export function runGatewayProcess(gateway: Construct & { readonly serviceName: string }, acl: GatewayAcl, options: GatewayProcessOptions): GatewayInstance[] {
  const host = gatewayHostOf(acl.datacenter);
  return host?._runGateway({
    gateway,
    kind: options.kind,
    service: gateway.serviceName,
    replicas: options.replicas,
    port: options.port,
    tokenSecret: acl.secretId,
    exposeServers: options.exposeServers ?? (options.kind === 'mesh' && host._meshGatewayFederation),
    startEnvoy: options.startEnvoy ?? true,
    envoyImage: options.envoyImage !== undefined ? checkImage(gateway, 'envoyImage', options.envoyImage) : acl.datacenter.consulVersion.defaultEnvoyImage,
    dependsOn: [acl.secret],
    publishedPorts: options.publishedPorts,
  }) ?? [];
}
