import { Construct, IConstruct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { validateAppBeforeWriting } from '../internal/app-validation';
import { dependsOnAll } from '../internal/dependencies';
import { invalidInput } from '../internal/errors';
import { ConfigEntry } from '../internal/providers';
import { StackRegistry } from '../internal/stack-registry';

/** Per stack: `<cluster> <kind> <name>` -> the construct that declared it. */
const declared = new StackRegistry<IConstruct>();

/**
 * The generic `consul_config_entry` under every typed entry. The body holds
 * every field Consul would otherwise fill in, because the provider compares
 * the decoded body with what Consul returns. Written through the primary
 * (globalProvider), where config entries live and reads do not lag.
 *
 * Rendered eagerly, and again by {@link refreshConfigEntry} when an `add*()`
 * call changes it: a Lazy per entry costs a captured stack trace and a token
 * resolution, which more than doubled synth time for thousands of entries.
 * `orElse` completes the fix given when the entry is declared twice.
 * @internal
 */
export function configEntryResource(scope: Construct, datacenter: IDatacenter, kind: string, name: string,
  body: Record<string, unknown>, orElse?: string): ConfigEntry {
  claimEntry(scope, datacenter, kind, name, orElse);
  validateAppBeforeWriting(scope);
  const resource = new ConfigEntry(scope, 'Resource', {
    provider: datacenter.globalProvider,
    kind,
    name,
    configJson: JSON.stringify(body),
    dependsOn: dependsOnAll(datacenter.readiness),
  });
  resource.overrideLogicalId(entryAddressName(datacenter, kind, name));
  return resource;
}

/** Re-renders an entry's body after a change. @internal */
export function refreshConfigEntry(resource: ConfigEntry, body: Record<string, unknown>): void {
  resource.configJson = JSON.stringify(body);
}

/** The construct of `datacenter`'s stack that declared the entry, if any. @internal */
export function declaredEntry(datacenter: IDatacenter, kind: string, name: string): IConstruct | undefined {
  return declared.of(datacenter).get(entryKey(datacenter, kind, name));
}

/**
 * A config entry is one object per cluster (a federation shares its
 * primary's), so two constructs declaring the same kind and name would
 * overwrite each other on every apply and never converge.
 */
function claimEntry(scope: Construct, datacenter: IDatacenter, kind: string, name: string, orElse?: string): void {
  const entries = declared.of(scope);
  const key = entryKey(datacenter, kind, name);
  const first = entries.get(key);
  if (first !== undefined) {
    throw invalidInput(scope,
      `the ${kind} entry "${name}" of cluster "${datacenter.cluster}" is already declared at ${first.node.path}`,
      name, 'Config entries are global to a federation: declare each one once, with the settings of every datacenter'
        + (orElse ? `, or ${orElse}.` : '.'));
  }
  // Consul also refuses an ingress-gateway and a terminating-gateway entry of one name.
  const rival = kind === 'ingress-gateway' ? 'terminating-gateway' : kind === 'terminating-gateway' ? 'ingress-gateway' : undefined;
  const other = rival && entries.get(entryKey(datacenter, rival, name));
  if (other) {
    throw invalidInput(scope,
      `the ${kind} entry "${name}" of cluster "${datacenter.cluster}" has the name of the ${rival} entry declared at ${other.node.path}, which Consul refuses`,
      name, 'Give one of the gateways its own serviceName.');
  }
  entries.set(key, scope);
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
