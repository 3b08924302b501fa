// Locates the real binaries built by tools/build.sh (terraform, consul, and the
// provider filesystem mirror) so integration tests can drive them.
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Toolchain {
  /** Absolute path of the terraform binary, '' when missing. */
  readonly terraform: string;
  /** Absolute path of the consul binary, '' when missing. */
  readonly consul: string;
  /** The xDS reader (tools/xds), '' when missing. */
  readonly xds: string;
  /** The earlier Consul the day-2 suite upgrades from (tools/consul-previous), '' when missing. */
  readonly consulPrevious: string;
  /** Provider binaries installed in the filesystem mirror. */
  readonly providers: { readonly consul?: string; readonly docker?: string };
  /** Version of each available tool, as status.json records it (e.g. consul: `1.14.11`). */
  readonly versions: Partial<Record<ToolName, string>>;
  /** One human-readable line per unavailable tool. */
  readonly missing: string[];
  /** Environment for terraform/cdktf child processes: mirror-only CLI config, no checkpoint calls. */
  readonly env: Record<string, string>;
}

export type ToolName = 'terraform' | 'consul' | 'consul-previous' | 'xds' | 'provider-consul' | 'provider-docker';

type Entry = { path: string; version: string } | { missing: string };
interface Status {
  terraform: Entry;
  consul: Entry;
  consulPrevious?: Entry;
  xds?: Entry;
  providers: Record<string, Entry>;
}

const repoRoot = path.resolve(__dirname, '..', '..');

const labels: Record<ToolName, string> = {
  'terraform': 'terraform',
  'consul': 'consul',
  'consul-previous': 'consul to upgrade from (tools/consul-previous)',
  'xds': 'xds reader (tools/xds)',
  'provider-consul': 'provider hashicorp/consul',
  'provider-docker': 'provider kreuzwerker/docker',
};

/** Same resolution as tools/build.sh. */
export function cacheDir(): string {
  const env = process.env;
  return env.CDKTF_CONSUL_MESH_CACHE
    || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cdktf-consul-mesh');
}

/**
 * The passphrase of the state encryption (StateEncryption) of every stack
 * the project deploys: `TF_VAR_state_passphrase` when set, else one
 * generated on first use and kept, mode 0600, in the cache (outside the
 * repo). Never printed.
 */
export function statePassphrase(): string {
  const given = process.env.TF_VAR_state_passphrase;
  if (given) return given;
  const file = path.join(cacheDir(), 'state-passphrase');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // `wx`: two processes starting at once keep the first one's.
    try {
      fs.writeFileSync(file, crypto.randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return fs.readFileSync(file, 'utf8').trim();
}

function readStatus(file: string): Status | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Status;
  } catch {
    return undefined;
  }
}

function entries(status: Status): Entry[] {
  return [status.terraform, status.consul, ...(status.consulPrevious ? [status.consulPrevious] : []), ...(status.xds ? [status.xds] : []),
    ...Object.values(status.providers ?? {})];
}

/** Stale when a binary the status names has since been deleted, or a tool is not recorded (an older build.sh wrote it). */
function isStale(status: Status | undefined): boolean {
  return !status || !status.xds || !status.consulPrevious || entries(status).some(e => 'path' in e && !fs.existsSync(e.path));
}

let cached: Toolchain | undefined;

/**
 * Reads <cache>/status.json, running `bash tools/build.sh` first when it is
 * absent or stale. Never throws for missing tools: see `missing`/requireTool.
 */
export function loadToolchain(): Toolchain {
  if (cached) return cached;
  const cache = cacheDir();
  const statusFile = path.join(cache, 'status.json');
  let status = readStatus(statusFile);
  if (isStale(status)) {
    // stdout too goes to stderr: jest reserves stdout for its reporters.
    const run = spawnSync('bash', [path.join(repoRoot, 'tools', 'build.sh')], {
      cwd: repoRoot,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    status = readStatus(statusFile);
    if (!status) {
      throw new Error(`tools/build.sh exited with ${run.status ?? run.signal} and wrote no ${statusFile}; run \`npm run tools\` to see why`);
    }
  }
  const s = status!;
  const missing: string[] = [];
  const versions: Partial<Record<ToolName, string>> = {};
  const pick = (name: ToolName, e: Entry | undefined): string | undefined => {
    if (e && 'path' in e) {
      versions[name] = e.version;
      return e.path;
    }
    missing.push(`${labels[name]}: ${e ? e.missing : 'not recorded in status.json'}`);
    return undefined;
  };
  const terraform = pick('terraform', s.terraform) ?? '';
  cached = {
    terraform,
    consul: pick('consul', s.consul) ?? '',
    xds: pick('xds', s.xds) ?? '',
    consulPrevious: pick('consul-previous', s.consulPrevious) ?? '',
    providers: {
      consul: pick('provider-consul', s.providers?.['hashicorp/consul']),
      docker: pick('provider-docker', s.providers?.['kreuzwerker/docker']),
    },
    versions,
    missing,
    env: {
      TF_CLI_CONFIG_FILE: path.join(cache, 'terraformrc'),
      CHECKPOINT_DISABLE: '1',
      // Every example encrypts its state (StateEncryption); other stacks ignore the variable.
      TF_VAR_state_passphrase: statePassphrase(),
      ...(terraform ? { TERRAFORM_BINARY_NAME: terraform } : {}),
      PATH: `${path.join(cache, 'path')}${path.delimiter}${process.env.PATH ?? ''}`,
    },
  };
  return cached;
}

/** Path of a tool, or an Error saying what is missing and how to build it. */
export function requireTool(name: ToolName, toolchain: Toolchain = loadToolchain()): string {
  const found = {
    'terraform': toolchain.terraform,
    'consul': toolchain.consul,
    'consul-previous': toolchain.consulPrevious,
    'xds': toolchain.xds,
    'provider-consul': toolchain.providers.consul,
    'provider-docker': toolchain.providers.docker,
  }[name];
  if (found) return found;
  const why = toolchain.missing.find(line => line.startsWith(`${labels[name]}:`)) ?? `${labels[name]}: unavailable`;
  throw new Error(`required tool missing: ${why}\nBuild the toolchain with \`npm run tools\` (bash tools/build.sh); status is in ${path.join(cacheDir(), 'status.json')}.`);
}

/** Version of an available tool (as status.json records it), or the Error requireTool gives. */
export function toolVersion(name: ToolName, toolchain: Toolchain = loadToolchain()): string {
  requireTool(name, toolchain);
  const version = toolchain.versions[name];
  if (!version) throw new Error(`${labels[name]}: no version recorded in ${path.join(cacheDir(), 'status.json')}`);
  return version;
}
