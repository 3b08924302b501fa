import { Construct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { dependsOnAll } from '../internal/dependencies';
import { AclPolicy, AclToken, DataConsulAclTokenSecretId } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';
import { forgetEarlierGenerations, generationId } from '../internal/token-rotation';

/** @internal */
export interface GatewayAclProps {
  readonly datacenter: IDatacenter;
  /** `mesh`, `ingress` or `terminating`. */
  readonly kind: string;
  readonly serviceName: string;
  /** The token's generation, checked (see lib/internal/token-rotation.ts). */
  readonly generation: number;
  /** The datacenter's runtime deletes earlier generations (OpenTofu forgets them). */
  readonly runtimeRetires: boolean;
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
  /** What every generation of the token is described as: how the old ones are found. */
  public readonly description: string;

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
      // Rendered by the gateway once the tree is complete (a terminating gateway's follow its linked services).
      rules: '',
      datacenters: [datacenter.name],
      dependsOn: dependsOnAll(datacenter.readiness),
    });
    this.description = description;
    this.token = new AclToken(this, generationId('Token', props.generation), {
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
    if (props.runtimeRetires) forgetEarlierGenerations(this, 'Token', props.generation);
  }
}
