import { Construct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { dependsOnAll } from '../internal/dependencies';
import { ConfigEntry } from '../internal/providers';

/**
 * The generic `consul_config_entry` under every typed entry. The body holds
 * every field Consul would otherwise fill in, because the provider compares
 * the decoded body with what Consul returns. Written through the primary
 * (globalProvider), where config entries live and reads do not lag.
 *
 * Rendered eagerly, and again by {@link refreshConfigEntry} when an `add*()`
 * call changes it: a Lazy per entry costs a captured stack trace and a token
 * resolution, which more than doubled synth time for thousands of entries.
 * @internal
 */
export function configEntryResource(scope: Construct, datacenter: IDatacenter, kind: string, name: string,
  body: Record<string, unknown>): ConfigEntry {
  return new ConfigEntry(scope, 'Resource', {
    provider: datacenter.globalProvider,
    kind,
    name,
    configJson: JSON.stringify(body),
    dependsOn: dependsOnAll(datacenter.readiness),
  });
}

/** Re-renders an entry's body after a change. @internal */
export function refreshConfigEntry(resource: ConfigEntry, body: Record<string, unknown>): void {
  resource.configJson = JSON.stringify(body);
}
