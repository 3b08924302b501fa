import { IConstruct } from 'constructs';
import { CertificateAuthority } from './certificates';
import { FEDERATION_JOIN_KEYS, FederationJoin } from '../datacenter/federation-join';
import { FederationMethod } from '../datacenter/federation-method';
import { invalidInput, validationMessage } from '../internal/errors';
import { requireReference } from '../internal/secrets';
import { RecordList, StackRecords } from '../internal/stack-records';
import { ITerraformDependable, TerraformStack } from '../internal/tf';
import { checkDatacenterName, checkHostPort, checkKeys } from '../internal/validation';

/** What a secondary reads of its federation's primary, once the tree is complete. @internal */
export interface FederationPrimary {
  readonly name: string;
  /** How many servers it has, where known (same app): a secondary's upgrade waits for all of them. */
  readonly serverCount?: number;
  /**
   * Where its HTTP API answers, where known (same app): a secondary writes
   * its global state (tokens, policies, config entries) there directly,
   * not forwarded over the WAN, which a secondary's server stops routing to
   * the primary for minutes when it finds the primary down at one of its
   * periodic checks (a recreated primary server is not announced again).
   */
  readonly _apiAddress?: string;
  /** The servers' addresses on the shared network (WAN gossip). */
  readonly _serverWanAddresses: string[];
  /** WAN addresses of its mesh gateways: the secondary's `primary_gateways`. */
  readonly meshGatewayWanAddresses: string[];
  /** Its mesh gateways' registrations: a secondary's servers start after them. */
  readonly _meshGatewayRegistrations: ITerraformDependable[];
}

/**
 * How a federation wires one of its datacenters: handed out by the
 * ConsulFederation it is declared in (`FederationScope`), invisible in the
 * public API.
 */
export interface FederationLink {
  /** Servers gossip over the shared WAN network (classic federation). */
  readonly wanGossip: boolean;
  readonly meshGatewayFederation: boolean;
  readonly primary?: FederationPrimary;
  readonly replicationToken?: string;
  /** The servers' CA, in mesh-gateway federation. */
  readonly ca?: CertificateAuthority;
  /**
   * The servers are in a stack applied before the one that creates the
   * replication token: they start without it, and the datacenter hands it over.
   */
  readonly handOverReplicationToken?: boolean;
  /** Where the datacenter's servers go in its serverStack (the federation's own scope there). */
  readonly serverParent?: IConstruct;
  /** Every datacenter of the federation, by name: the TLS rotation's phases wait for all of them. */
  readonly datacenters?: readonly string[];
  /** The CA a rotation replaces, which the providers trust too meanwhile (`tls.previousCaCertificate`). */
  readonly previousCaCertificate?: string;
}

/** A construct whose child datacenters it federates (ConsulFederation). @internal */
export interface FederationScope {
  /** The link for the child datacenter of id `id`, handed out once. */
  _takeFederationLink(id: string): FederationLink | undefined;
}

/** The link the federation `datacenter` is declared in has for it, if any. */
export function federationLinkOf(datacenter: IConstruct): FederationLink | undefined {
  const scope = datacenter.node.scope as Partial<FederationScope> | undefined;
  return typeof scope?._takeFederationLink === 'function' ? scope._takeFederationLink(datacenter.node.id) : undefined;
}

/** The link of a datacenter whose federation spans stacks: its own federationMethod (a primary) or a join (a secondary). */
export function linkAcrossStacks(scope: IConstruct, props: { join?: FederationJoin; federationMethod?: FederationMethod; hostAddress?: string }, ca: CertificateAuthority | undefined): FederationLink {
  const { join, federationMethod } = props;
  if (join === undefined && federationMethod === undefined) return { wanGossip: false, meshGatewayFederation: false, ca };
  if (join !== undefined && federationMethod !== undefined) {
    throw invalidInput(scope, 'a datacenter is either a primary (federationMethod) or joins one (join), not both', federationMethod.kind,
      'Remove federationMethod from the secondary: it takes the primary\'s method from join.');
  }
  const prop = join !== undefined ? 'join' : 'federationMethod';
  if (props.hostAddress === undefined || ca === undefined) {
    throw invalidInput(scope, `${prop} federates datacenters on different hosts, whose traffic must use host addresses and TLS`,
      { hostAddress: props.hostAddress ?? null, tls: ca !== undefined }, 'Set hostAddress (this Docker host\'s address the others reach) and tls (the federation\'s CA).');
  }
  if (join === undefined) {
    if (!(federationMethod instanceof FederationMethod)) {
      throw invalidInput(scope, 'federationMethod must be a FederationMethod', federationMethod, 'Use FederationMethod.wanGossip() or FederationMethod.meshGateways().');
    }
    const meshGatewayFederation = federationMethod.throughMeshGateways;
    return { wanGossip: !meshGatewayFederation, meshGatewayFederation, ca };
  }
  checkKeys(scope, 'join', join, FEDERATION_JOIN_KEYS, 'FederationJoin');
  if (!(join.method instanceof FederationMethod)) {
    throw invalidInput(scope, 'join.method must be a FederationMethod', join.method, 'Use the primary\'s method, e.g. FederationMethod.wanGossip().');
  }
  checkDatacenterName(scope, join.primaryDatacenter, 'join.primaryDatacenter');
  const meshGatewayFederation = join.method.throughMeshGateways;
  const [prop2, addresses] = meshGatewayFederation ? ['meshGatewayWanAddresses', join.meshGatewayWanAddresses] : ['serverWanAddresses', join.serverWanAddresses];
  if (!Array.isArray(addresses) || addresses.length === 0) {
    throw invalidInput(scope, `join.${prop2} is empty, so the secondary's servers would have nothing to dial`, addresses ?? null,
      meshGatewayFederation ? 'Add the primary\'s mesh gateways before calling federationJoin(), or list their host:port.' : 'List the primary servers\' host:port (WAN gossip).');
  }
  addresses.forEach((a, i) => checkHostPort(scope, `join.${prop2}[${i}] must be host:port`, a, 'Use e.g. "192.0.2.10:8302".'));
  checkHostPort(scope, 'join.primaryApiAddress must be host:port', join.primaryApiAddress, 'Use e.g. "192.0.2.10:8500".');
  const replicationToken = requireReference(scope, 'join.replicationToken', join.replicationToken);
  const primary: FederationPrimary = {
    name: join.primaryDatacenter,
    _serverWanAddresses: join.serverWanAddresses,
    meshGatewayWanAddresses: join.meshGatewayWanAddresses,
    // In another stack: applying the primary's stack first is the order.
    _meshGatewayRegistrations: [],
  };
  return { wanGossip: !meshGatewayFederation, meshGatewayFederation, primary, replicationToken, ca };
}

/** A datacenter of a federation split across stacks, and what names its federation. */
interface FederationMember {
  readonly datacenter: IConstruct & { readonly name: string };
  /**
   * The replication token's secret: one value (a reference) for the primary
   * that handed it out and every secondary joining it, copies of the join included.
   */
  readonly federation: () => unknown;
}

const MEMBERS = new RecordList<FederationMember>('federation-members');

/**
 * Records a primary with a federationMethod or a secondary with a join:
 * two datacenters of one name in one federation, in any stacks of the app,
 * are refused on the later one (Consul tells datacenters apart by name).
 */
export function recordFederationMember(member: FederationMember): void {
  const records = StackRecords.of(member.datacenter);
  records.add(MEMBERS, member);
  member.datacenter.node.addValidation({
    validate: () => {
      const all = records.inApp().flatMap((r) => r.all(MEMBERS));
      const first = all.slice(0, all.indexOf(member)).find((m) => m.datacenter.name === member.datacenter.name && m.federation() === member.federation());
      if (!first) return [];
      const where = TerraformStack.of(first.datacenter) === TerraformStack.of(member.datacenter) ? first.datacenter.node.path
        : `${first.datacenter.node.path} (stack ${TerraformStack.of(first.datacenter).node.id})`;
      return [validationMessage(`datacenter "${member.datacenter.name}" of ${member.datacenter.node.path} is in the federation that ${where} is in already, under the same name`,
        member.datacenter.name, 'Give each datacenter of a federation its own name: Consul tells them apart by name alone.')];
    },
  });
}
