import { Construct, IConstruct } from 'constructs';
import { entryReadiness, IDatacenter } from '../datacenter/datacenter';
import { addDependencies, dependsOnAll } from '../internal/dependencies';
import { invalidInput } from '../internal/errors';
import { ConfigEntry } from '../internal/providers';
import { FinalizePass } from '../internal/finalize-pass';
import { StackRecords } from '../internal/stack-records';
import { TerraformStack } from '../internal/tf';

/** How a typed entry is declared. @internal */
export interface ConfigEntryOptions {
  /** The config_json body, rendered by the finalize pass. */
  readonly render: () => Record<string, unknown>;
  /** Completes the fix given when the entry is declared twice, e.g. "get it with X.of(datacenter)". */
  readonly orElse?: string;
  /**
   * What this entry is created after and deleted before, computed by the
   * finalize pass: the entries Consul checks it against (discovery-chain.ts).
   * Those of other stacks are left to the stacks' order.
   */
  readonly writtenAfter?: () => ConfigEntry[];
}

/** The namespace of declared entries in StackRecords: `<cluster> <kind> <name>` -> the construct that declared it. */
const ENTRIES = 'config-entries';

/**
 * The generic `consul_config_entry` under every typed entry. The body holds
 * every field Consul would otherwise fill in, because the provider compares
 * the decoded body with what Consul returns. Written through the primary
 * (globalProvider), where config entries live and reads do not lag.
 *
 * The body is rendered once, by the stack's finalize pass, from `render`:
 * entries gain sources, overrides and listeners after construction, and a
 * Lazy per entry would cost a captured stack trace and a token resolution
 * (more than double the synth time for thousands of entries). The same pass
 * orders the entry after what it must follow (`writtenAfter`).
 * @internal
 */
export function configEntryResource(scope: Construct, datacenter: IDatacenter, kind: string, name: string,
  options: ConfigEntryOptions): ConfigEntry {
  const { render, orElse, writtenAfter } = options;
  claimEntry(scope, datacenter, kind, name, orElse);
  const resource = new ConfigEntry(scope, 'Resource', {
    provider: datacenter.globalProvider,
    kind,
    name,
    configJson: '',
    dependsOn: dependsOnAll(entryReadiness(datacenter)),
  });
  resource.overrideLogicalId(entryAddressName(datacenter, kind, name));
  FinalizePass.of(scope).add({
    _finalize: () => {
      resource.configJson = JSON.stringify(render());
      if (writtenAfter) {
        const stack = TerraformStack.of(resource);
        addDependencies(resource, writtenAfter().filter((before) => TerraformStack.of(before) === stack));
      }
    },
  });
  return resource;
}

/** The construct of `datacenter`'s stack that declared the entry, if any. @internal */
export function declaredEntry(datacenter: IDatacenter, kind: string, name: string): IConstruct | undefined {
  return StackRecords.of(datacenter).lookup(ENTRIES, entryKey(datacenter, kind, name));
}

/**
 * A config entry is one object per cluster (a federation shares its
 * primary's), so two constructs declaring the same kind and name would
 * overwrite each other on every apply and never converge.
 */
function claimEntry(scope: Construct, datacenter: IDatacenter, kind: string, name: string, orElse?: string): void {
  const records = StackRecords.of(datacenter);
  const first = records.claim(ENTRIES, entryKey(datacenter, kind, name), scope);
  if (first !== undefined) {
    throw invalidInput(scope,
      `the ${kind} entry "${name}" of cluster "${datacenter.cluster}" is already declared at ${first.node.path}`,
      name, 'Config entries are global to a federation: declare each one once, with the settings of every datacenter'
        + (orElse ? `, or ${orElse}.` : '.'));
  }
  // Consul also refuses an ingress-gateway and a terminating-gateway entry of one name.
  const rival = kind === 'ingress-gateway' ? 'terminating-gateway' : kind === 'terminating-gateway' ? 'ingress-gateway' : undefined;
  const other = rival && records.lookup(ENTRIES, entryKey(datacenter, rival, name));
  if (other) {
    throw invalidInput(scope,
      `the ${kind} entry "${name}" of cluster "${datacenter.cluster}" has the name of the ${rival} entry declared at ${other.node.path}, which Consul refuses`,
      name, 'Give one of the gateways its own serviceName.');
  }
}

/**
 * The resource's name in Terraform addresses: `<kind>_<cluster>_<name>`, e.g.
 * `consul_config_entry.service-defaults_dc1_api`. It follows the entry, not the
 * construct path: moving a construct in the tree leaves the entry alone (a
 * replaced config entry is deleted, then recreated: intentions would deny in
 * between), while claimEntry keeps it unique. It is also cheaper than the
 * hashed default, which made up half of the synth overhead over raw provider
 * resources (bench/synth.ts). Service names never contain `_` at either end,
 * so `_all_` cannot clash with a service; kinds and cluster names never
 * contain `_` at all.
 */
function entryAddressName(datacenter: IDatacenter, kind: string, name: string): string {
  return `${kind}_${datacenter.cluster}_${name === '*' ? '_all_' : name}`;
}

function entryKey(datacenter: IDatacenter, kind: string, name: string): string {
  return `${datacenter.cluster}\u0000${kind}\u0000${name}`;
}
