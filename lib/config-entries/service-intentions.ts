import { Construct } from 'constructs';
import { configEntryResource, declaredEntry } from './config-entry-resource';
import type { IDatacenter } from '../datacenter/datacenter';
import { invalidInput, validationMessage } from '../internal/errors';
import { checkPeerName, checkServiceName } from '../internal/names';
import { owned } from '../internal/owned';
import { ConfigEntry } from '../internal/providers';
import { TerraformStack } from '../internal/tf';
import { checkKeys, utf8Length } from '../internal/validation';

/** Whether an intention lets a source connect. */
export class IntentionAction {
  /** The source may connect. */
  public static allow(): IntentionAction {
    return new IntentionAction('allow');
  }

  /** The source may not connect. */
  public static deny(): IntentionAction {
    return new IntentionAction('deny');
  }

  private constructor(
    /** The value Consul stores: `allow` or `deny`. */
    public readonly value: string,
  ) {}
}

/** A source of a service-intentions entry. */
export interface IntentionSourceOptions {
  /** The calling service, or `*` for every service (of the peer, when `peer` is set). */
  readonly name: string;

  /** Whether it may connect. */
  readonly action: IntentionAction;

  /**
   * The cluster peer the caller lives in, by the name this cluster knows it by.
   * @default - a service of this cluster
   */
  readonly peer?: string;

  /**
   * The caller's namespace (Consul Enterprise; CE refuses the field), `*` for all.
   * @default - the destination's namespace
   */
  readonly namespace?: string;

  /**
   * Free text stored with the intention, at most 512 bytes (UTF-8).
   * @default - none
   */
  readonly description?: string;
}

const INTENTION_SOURCE: Record<keyof IntentionSourceOptions, true> = { name: true, action: true, peer: true, namespace: true, description: true };

/** Props of `ServiceIntentions`. */
export interface ServiceIntentionsProps {
  /** A datacenter of the cluster (the entry is global to a federation). */
  readonly datacenter: IDatacenter;

  /** The service being called, or `*` for every service. */
  readonly destination: string;

  /**
   * Who may (or may not) call it.
   * @default - none yet: add them with addSource() (Consul needs at least one)
   */
  readonly sources?: IntentionSourceOptions[];
}

/**
 * The `service-intentions` config entry of one destination: which services
 * (of this cluster, or of a peer) may call it. One per destination and
 * cluster, so get it with `ServiceIntentions.of` when several parts of
 * the stack add sources.
 */
export class ServiceIntentions extends Construct {
  /**
   * The intentions of `destination` in `datacenter`'s cluster in this stack:
   * the ones already declared, or new ones at `<datacenter>/Intentions-<destination>`.
   */
  public static of(datacenter: IDatacenter, destination: string): ServiceIntentions {
    const existing = declaredEntry(datacenter, 'service-intentions', destination);
    if (existing !== undefined) return existing as ServiceIntentions;
    const id = `Intentions-${destination === '*' ? 'all' : destination}`;
    const scope = datacenter instanceof Construct ? datacenter : TerraformStack.of(datacenter);
    return new ServiceIntentions(scope, scope === datacenter ? id : `${id}-${datacenter.name}`, { datacenter, destination });
  }

  /** The datacenter the entry is written through. */
  public readonly datacenter: IDatacenter;
  /** The service being called (the entry's name). */
  public readonly destination: string;
  /** The underlying `consul_config_entry` (kind `service-intentions`). */
  public readonly resource: ConfigEntry;
  private readonly _sources: IntentionSourceOptions[] = [];

  constructor(scope: Construct, id: string, props: ServiceIntentionsProps) {
    super(scope, id);
    this.datacenter = props.datacenter;
    this.destination = checkServiceName(this, 'destination', props.destination, 'every service');
    for (const source of props.sources ?? []) this.add(source);
    this.resource = configEntryResource(this, props.datacenter, 'service-intentions', this.destination, {
      render: () => this._renderBody(), orElse: 'get it with ServiceIntentions.of(datacenter, destination)',
    });
    this.node.addValidation({ validate: () => this.checkComplete() });
  }

  /** Adds a source; returns it as stored (read-only: the one `sources` lists). */
  public addSource(source: IntentionSourceOptions): IntentionSourceOptions {
    return this.add(source);
  }

  /** The sources, in the order added. */
  public get sources(): IntentionSourceOptions[] {
    return [...this._sources];
  }

  /**
   * The config_json body. Consul fills in `Precedence` and `Type` on every
   * source and sorts sources by precedence (highest first, otherwise keeping
   * their order), so the body does both: anything else reads back different
   * and shows a diff on every plan.
   * @internal
   */
  public _renderBody(): Record<string, unknown> {
    const sources = this._sources.map((s) => ({
      Name: s.name,
      ...(s.peer ? { Peer: s.peer } : {}),
      ...(s.namespace ? { Namespace: s.namespace } : {}),
      Action: s.action.value,
      Precedence: this.precedence(s),
      Type: 'consul',
      ...(s.description ? { Description: s.description } : {}),
    }));
    return { Sources: sources.sort((a, b) => b.Precedence - a.Precedence) };
  }

  /** Consul's rule: 9 for exact names at both ends, one less per wildcard level. */
  private precedence(source: IntentionSourceOptions): number {
    const exact = (name: string, namespace?: string) => namespace === '*' ? 0 : name === '*' ? 1 : 2;
    const max = [3, 6, 9][exact(this.destination)];
    return max - (2 - exact(source.name, source.namespace));
  }

  private add(source: IntentionSourceOptions): IntentionSourceOptions {
    checkKeys(this, `sources[${this._sources.length}]`, source, INTENTION_SOURCE, 'IntentionSourceOptions');
    checkServiceName(this, 'source name', source.name, 'every service');
    if (source.peer !== undefined) checkPeerName(this, `peer of source "${source.name}"`, source.peer);
    // From JavaScript a plain "allow" would render no Action, which Consul refuses.
    if (!(source.action instanceof IntentionAction)) {
      throw invalidInput(this, `action of source "${source.name}" must be an IntentionAction`, source.action,
        'Use IntentionAction.allow() or IntentionAction.deny().');
    }
    if (source.description !== undefined && utf8Length(source.description) > 512) {
      throw invalidInput(this, `the description of source "${source.name}" is longer than the 512 bytes Consul stores`, utf8Length(source.description),
        'Shorten it to at most 512 bytes (UTF-8).');
    }
    if (source.namespace === '*' && source.name !== '*') {
      throw invalidInput(this, `a source in every namespace must be every service too (Consul allows */* but not */${source.name})`,
        source.name, 'Use name "*" with namespace "*", or name the namespace.');
    }
    const same = this._sources.find((s) => s.name === source.name && s.peer === source.peer && s.namespace === source.namespace);
    if (same) {
      throw invalidInput(this, `source "${source.name}"${source.peer ? ` of peer "${source.peer}"` : ''} is already in the intentions of "${this.destination}"`,
        source.action.value, `Keep one source per caller; it is already ${same.action.value}.`);
    }
    const stored = owned(source);
    this._sources.push(stored);
    return stored;
  }

  private checkComplete(): string[] {
    const errors: string[] = [];
    if (this._sources.length === 0) {
      errors.push(validationMessage(`the intentions of "${this.destination}" have no source, which Consul refuses`, [],
        'Add one with addSource({ name: "...", action: IntentionAction.allow() }), or remove the construct.'));
    }
    return errors;
  }
}
