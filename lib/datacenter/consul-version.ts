import { IConstruct } from 'constructs';
import { invalidInput } from '../internal/errors';

/**
 * A Consul release. Each datacenter knows the version its servers run, and
 * the library renders only what that version accepts: a field Consul does
 * not know is refused at write time (an apply that fails halfway), and a
 * field it knows but the library leaves out shows as a change on every plan.
 */
export class ConsulVersion {
  /** 1.14.11: the newest release whose whole build is open source (MPL-2.0). */
  public static readonly V1_14_11 = new ConsulVersion(1, 14, 11);

  /** 1.19.2: the version of `DockerDatacenter.DEFAULT_IMAGE`. */
  public static readonly V1_19_2 = new ConsulVersion(1, 19, 2);

  /** The oldest version the library renders for (cluster peering and the gRPC TLS port arrived in 1.14). */
  public static readonly MINIMUM = new ConsulVersion(1, 14, 0);

  /**
   * A version from its text: `1.14.11`, `v1.14.11` or `1.14` (patch 0).
   * Throws on anything else.
   */
  public static of(version: string): ConsulVersion {
    const parsed = ConsulVersion.parse(version);
    if (!parsed) {
      throw new Error(`Consul version must be MAJOR.MINOR[.PATCH] (got: ${JSON.stringify(version)}). Use e.g. ConsulVersion.of("1.19.2").`);
    }
    return parsed;
  }

  /**
   * The version an image's tag names (`hashicorp/consul:1.19.2`,
   * `registry.local/consul:1.14.11-ent`), or undefined when the tag is not a
   * version (`latest`, a digest).
   */
  public static fromImage(image: string): ConsulVersion | undefined {
    const tag = /:([^:/@]+)$/.exec(image.split('@')[0])?.[1];
    return tag === undefined ? undefined : ConsulVersion.parse(tag.replace(/-.*$/, ''));
  }

  private static parse(text: string): ConsulVersion | undefined {
    const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
    return m ? new ConsulVersion(Number(m[1]), Number(m[2]), Number(m[3] ?? 0)) : undefined;
  }

  private constructor(
    /** Major version. */
    public readonly major: number,
    /** Minor version. */
    public readonly minor: number,
    /** Patch version. */
    public readonly patch: number,
  ) {}

  /** True when this version is `other` or newer. */
  public atLeast(other: ConsulVersion): boolean {
    return this.compare(other) >= 0;
  }

  /** Negative, zero or positive as this version is older than, equal to or newer than `other`. */
  public compare(other: ConsulVersion): number {
    return this.major - other.major || this.minor - other.minor || this.patch - other.patch;
  }

  /**
   * The Envoy image gateways run by default: the newest Envoy release line
   * this Consul version supports.
   */
  public get defaultEnvoyImage(): string {
    const pinned = ENVOY_BY_MINOR.find(([minor]) => minor === this.minor && this.major === 1)?.[1];
    if (pinned) return `envoyproxy/envoy:${pinned}`;
    // Newer than the table: the newest Envoy line the table knows.
    return `envoyproxy/envoy:${ENVOY_BY_MINOR[ENVOY_BY_MINOR.length - 1][1]}`;
  }

  public toString(): string {
    return `${this.major}.${this.minor}.${this.patch}`;
  }
}

/**
 * The Envoy line each Consul minor version supports best (Consul's
 * compatibility matrix: 1.14 supports Envoy 1.21 to 1.24, 1.19 supports 1.26
 * to 1.29); each step of Consul moved the top of the range by one.
 */
const ENVOY_BY_MINOR: ReadonlyArray<readonly [number, string]> = [
  [14, 'v1.24.12'],
  [15, 'v1.25-latest'],
  [16, 'v1.26-latest'],
  [17, 'v1.27-latest'],
  [18, 'v1.28-latest'],
  [19, 'v1.29.12'],
];

/** Something the library renders that not every Consul version accepts. */
export interface ConsulFeature {
  /** What it is, in Consul's words (field path of the config entry). */
  readonly name: string;
  /** The first version that accepts it. */
  readonly since: ConsulVersion;
}

/** The gates: what the library renders only from a version on. @internal */
export const FEATURES = {
  /**
   * proxy-defaults `AccessLogs`: 1.14 refuses the key; 1.15+ reads it back as
   * `{}`, so it must be sent there or every plan shows a diff.
   */
  accessLogs: { name: 'proxy-defaults AccessLogs', since: ConsulVersion.of('1.15.0') },
  /** service-defaults `UpstreamConfig.Overrides[].Peer` (an override for an upstream in a cluster peer). */
  upstreamOverridePeer: { name: 'service-defaults UpstreamConfig.Overrides[].Peer', since: ConsulVersion.of('1.15.0') },
} satisfies Record<string, ConsulFeature>;

/** True when the version accepts the feature. @internal */
export function supports(version: ConsulVersion, feature: ConsulFeature): boolean {
  return version.atLeast(feature.since);
}

/** Throws the library's error when `version` lacks `feature`. @internal */
export function requireFeature(scope: IConstruct, version: ConsulVersion, feature: ConsulFeature, received: unknown, fix: string): void {
  if (supports(version, feature)) return;
  throw invalidInput(scope, `${feature.name} needs Consul ${feature.since} or newer, and this datacenter runs ${version}`, received,
    `${fix} Or run Consul ${feature.since}+ (set the datacenter's image or consulVersion).`);
}

/** The version a datacenter declares, checked against the library's minimum. @internal */
export function checkConsulVersion(scope: IConstruct, version: ConsulVersion): ConsulVersion {
  if (!version.atLeast(ConsulVersion.MINIMUM)) {
    throw invalidInput(scope, `Consul ${version} is older than the oldest version the library supports (${ConsulVersion.MINIMUM})`, version.toString(),
      `Use Consul ${ConsulVersion.MINIMUM} or newer.`);
  }
  return version;
}
