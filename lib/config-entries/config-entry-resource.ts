import { Lazy } from 'cdktf';
import { Construct } from 'constructs';
import type { IDatacenter } from '../datacenter/datacenter';
import { dependsOnAll } from '../internal/dependencies';
import { ConfigEntry } from '../internal/providers';

/**
 * The generic `consul_config_entry` under every typed entry. Its body is
 * produced lazily so `add*()` calls made after construction still land, and
 * it holds every field Consul would otherwise fill in, because the provider
 * compares the decoded body with what Consul returns.
 * @internal
 */
export function configEntryResource(scope: Construct, datacenter: IDatacenter, kind: string, name: string,
  body: () => Record<string, unknown>): ConfigEntry {
  return new ConfigEntry(scope, 'Resource', {
    provider: datacenter.provider,
    kind,
    name,
    configJson: Lazy.stringValue({ produce: () => JSON.stringify(body()) }),
    dependsOn: dependsOnAll(datacenter.readiness),
  });
}
