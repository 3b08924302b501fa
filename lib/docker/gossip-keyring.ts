// Rotating the gossip key with one prop change, as Consul's keyring steps
// say: install the new key on every agent, make it the primary key, remove
// the old ones. A server reads its configured key (`encrypt`) only at its
// first start, then keeps a keyring in its data directory: a new key in the
// configuration alone changes nothing on running servers. Keyring operations
// reach every agent of every datacenter of the federation (LAN and WAN
// pools), so one one-shot in the primary rotates all of them, once the
// datacenters it can see are up. Each step is idempotent: a killed rotation
// re-applies from where it stopped.
import { Construct } from 'constructs';
import { consulCliEnv, pollUntil, StackEngine } from './stack-engine';
import { Container } from '../internal/providers';
import { ITerraformDependable } from '../internal/tf';

/** What the rotation needs of the primary datacenter. */
export interface KeyringTarget {
  /** Name of the one-shot container. */
  readonly name: string;
  /** A server's LAN address, and its container, in whose network namespace the one-shot runs. */
  readonly serverAddress: string;
  readonly serverContainer: string;
  readonly image: string;
  readonly managementToken: string;
  /** The key every agent is to use, and only it. */
  readonly gossipKey: string;
  /** Every datacenter the rotation must reach is up. */
  readonly after: ITerraformDependable[];
}

/**
 * The shell script of the rotation: done at once when every pool lists only
 * the key, on every member; otherwise install, use, remove every other key,
 * and wait until every pool lists only it. It never prints a key.
 */
export function keyringScript(): string {
  // `consul keyring -list`: a pool header, then "  <key> [<members with it>/<members>]" a line.
  // As "<key> <members with it> <members>" lines; fails as the list does (a member not answering).
  const entries = 'l=$(consul keyring -list) && echo "$l" | sed -n \'s/^  \\([^ ]*\\) \\[\\([0-9]*\\)\\/\\([0-9]*\\)\\]$/\\1 \\2 \\3/p\'';
  const only = 'e=$(entries) && [ -n "$e" ] && echo "$e" | awk -v k="$GOSSIP_KEY" \'$1 != k || $2 != $3 { bad = 1 } END { exit bad }\'';
  return [
    'set -e',
    `entries() { ${entries}; }`,
    `only() { ${only}; }`,
    'if only; then echo "every agent uses the configured gossip key, and only it"; exit 0; fi',
    // Every keyring operation asks every member of every pool; one that does not answer in time (a server stopped a
    // moment ago, until the pool finds it gone: up to half a minute on the WAN) fails it ("5/6 nodes reported
    // success"). Each step is idempotent, so the whole rotation is tried again, as the list before it.
    'rotate() { consul keyring -install "$GOSSIP_KEY" >/dev/null && consul keyring -use "$GOSSIP_KEY" >/dev/null'
      + ' && e=$(entries) && [ -n "$e" ] && for old in $(echo "$e" | awk -v k="$GOSSIP_KEY" \'$1 != k { print $1 }\' | sort -u);'
      + ' do consul keyring -remove "$old" >/dev/null || return 1; done; }',
    pollUntil('rotate', 'the gossip key could not be rotated on every agent', 60),
    pollUntil('only', 'the agents did not all use the new gossip key alone', 60),
    'echo "gossip key rotated: every agent uses the new key, and only it"',
  ].join('\n');
}

/** The one-shot that brings every agent of the federation to `target.gossipKey` (recreated when the key changes). */
export function rotateGossipKey(scope: Construct, engine: StackEngine, target: KeyringTarget): Container {
  return engine.oneShot(scope, 'GossipKeyring', {
    name: target.name,
    image: engine.image(target.image).imageId,
    entrypoint: ['/bin/sh', '-c'],
    command: [keyringScript()],
    env: [...consulCliEnv(target.serverAddress, target.managementToken), `GOSSIP_KEY=${target.gossipKey}`],
    dependsOn: target.after,
  }, { joins: target.serverContainer });
}
