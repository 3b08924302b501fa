// What `npm run up` runs with: what the user has, else what tools/build.sh
// builds (Go needed then). One line per choice says what and why.
//
// - The CLI: a `tofu` on PATH (1.7 or newer: the example's state
//   encryption), else OpenTofu built from source. A `terraform` on PATH is
//   named and passed over: the example encrypts its state, which only
//   OpenTofu does.
// - The providers: the CLI's own sources when CONSUL_MESH_PROVIDERS=cli
//   (its registry or mirrors, as its configuration says; never probed from
//   here), or both pinned versions in the CLI's implicit local directory
//   (~/.terraform.d/plugins and the like); else a mirror built from source.
// - Consul itself: only to build the image for the project's own Docker
//   engine (an engine of the user's pulls it).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const PROVIDERS = [
  { source: 'hashicorp/consul', version: '2.22.1' },
  { source: 'kreuzwerker/docker', version: '3.6.2' },
] as const;
/** The first OpenTofu with client-side state encryption. */
const MIN_TOFU = [1, 7, 0];

export type BuiltTool = 'tofu' | 'providers' | 'consul';

export interface ToolchainChoice {
  /** The CLI the user has, when it is used. */
  readonly cli?: string;
  /** What tools/build.sh must build. */
  readonly build: BuiltTool[];
  /** Use the CLI's own provider configuration (no TF_CLI_CONFIG_FILE of the project's). */
  readonly ownProviderConfig: boolean;
  /**
   * TF_CLI_CONFIG_FILE names a file that does not exist: cleared, since the
   * CLI then warns on stdout, which cdktf cannot parse.
   */
  readonly clearCliConfig: boolean;
  /** One line per choice. */
  readonly lines: string[];
}

export interface ChoiceInputs {
  readonly env: NodeJS.ProcessEnv;
  /** The project's tools cache: its `path/` directory holds the project's own builds, not the user's. */
  readonly cacheDir: string;
  /** The project's own Docker engine is used, whose Consul image is built locally. */
  readonly ownEngine: boolean;
}

/** `name` on PATH, skipping the project's own builds. */
export function onPathOf(name: string, env: NodeJS.ProcessEnv, cacheDir: string): string | undefined {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    if (path.resolve(dir) === path.resolve(cacheDir, 'path')) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The version a Terraform-compatible CLI reports (`version -json`), if it answers. */
function cliVersion(cli: string, env: NodeJS.ProcessEnv): string | undefined {
  const run = spawnSync(cli, ['version', '-json'], { encoding: 'utf8', env: { ...env, CHECKPOINT_DISABLE: '1' }, timeout: 30_000 });
  if (run.status !== 0) return undefined;
  // Warnings about the CLI configuration (a TF_CLI_CONFIG_FILE that does not exist) come first, on stdout too.
  const json = /\{[\s\S]*\}\s*$/.exec(run.stdout);
  try {
    return json ? JSON.parse(json[0]).terraform_version as string : undefined;
  } catch {
    return undefined;
  }
}

function atLeast(version: string, min: number[]): boolean {
  const parts = version.split(/[.-]/).slice(0, 3).map(Number);
  for (let i = 0; i < min.length; i++) if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i];
  return true;
}

/** The implicit local directories OpenTofu reads providers from without any configuration. */
export function implicitPluginDirs(env: NodeJS.ProcessEnv): string[] {
  const home = env.HOME ?? '';
  const data = env.XDG_DATA_HOME ?? path.join(home, '.local', 'share');
  return [path.join(home, '.terraform.d', 'plugins'), path.join(data, 'opentofu', 'plugins'), path.join(data, 'terraform', 'plugins')];
}

/** Where both pinned providers are, unpacked or zipped, for this platform, if in one implicit directory. */
export function providersInPluginDir(env: NodeJS.ProcessEnv): string | undefined {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const platform = `${process.platform}_${arch}`;
  const has = (dir: string, p: (typeof PROVIDERS)[number]) => {
    const type = p.source.split('/')[1];
    const base = path.join(dir, 'registry.opentofu.org', p.source);
    return fs.existsSync(path.join(base, p.version, platform, `terraform-provider-${type}_v${p.version}`))
      || fs.existsSync(path.join(base, `terraform-provider-${type}_${p.version}_${platform}.zip`));
  };
  return implicitPluginDirs(env).find((dir) => PROVIDERS.every((p) => has(dir, p)));
}

/** What to use and what to build; throws, saying what to install, when something is missing and Go is not there to build it. */
export function chooseToolchain(inputs: ChoiceInputs): ToolchainChoice {
  const { env, cacheDir } = inputs;
  const lines: string[] = [];
  const build: BuiltTool[] = [];
  const missing: string[] = [];

  let cli: string | undefined;
  const tofu = onPathOf('tofu', env, cacheDir);
  const tofuVersion = tofu ? cliVersion(tofu, env) : undefined;
  if (tofu && tofuVersion && atLeast(tofuVersion, MIN_TOFU)) {
    cli = tofu;
    lines.push(`cli: OpenTofu ${tofuVersion} at ${tofu} (yours, on PATH)`);
  } else {
    const terraform = onPathOf('terraform', env, cacheDir);
    const why = tofu ? `your tofu at ${tofu} is ${tofuVersion ? `${tofuVersion}, older than 1.7, which state encryption needs` : 'not answering `tofu version -json`'}`
      : terraform ? `Terraform at ${terraform} is passed over: the example encrypts its state, which only OpenTofu does`
        : 'no tofu on PATH';
    build.push('tofu');
    lines.push(`cli: OpenTofu built from source (${why})`);
    missing.push('OpenTofu 1.7 or newer on PATH as `tofu`');
  }

  let ownProviderConfig = false;
  const pluginDir = providersInPluginDir(env);
  const pinned = PROVIDERS.map((p) => `${p.source} ${p.version}`).join(' and ');
  if (env.CONSUL_MESH_PROVIDERS === 'cli') {
    ownProviderConfig = true;
    lines.push(`providers: from your CLI's own sources, as its configuration says (CONSUL_MESH_PROVIDERS=cli)`);
  } else if (pluginDir) {
    ownProviderConfig = true;
    lines.push(`providers: ${pinned} found in ${pluginDir} (your CLI's implicit local directory)`);
  } else {
    build.push('providers');
    lines.push(`providers: ${pinned} built from source into the project's mirror (not in ${implicitPluginDirs(env)[0]}; CONSUL_MESH_PROVIDERS=cli uses your CLI's sources)`);
    missing.push(`the providers ${pinned} in ${implicitPluginDirs(env)[0]}/registry.opentofu.org/<source>/<version>/<os>_<arch>/, or CONSUL_MESH_PROVIDERS=cli to let your CLI fetch them`);
  }

  if (inputs.ownEngine) {
    build.push('consul');
    lines.push('consul: built from source, for the image of the project\'s own Docker engine (no engine of yours answers)');
    missing.push('a Docker engine that answers on DOCKER_HOST or /var/run/docker.sock (its registry gives the Consul image)');
  }

  const given = env.TF_CLI_CONFIG_FILE;
  const clearCliConfig = ownProviderConfig && given !== undefined && given !== '' && !fs.existsSync(given);
  if (clearCliConfig) lines.push(`cli config: TF_CLI_CONFIG_FILE=${given} does not exist: cleared (the CLI's defaults apply)`);

  if (build.length > 0 && !onPathOf('go', env, cacheDir)) {
    throw new Error(`npm run up needs to build ${build.join(', ')}, and no Go toolchain is on PATH. Install Go 1.26 or newer, or provide: ${missing.join('; ')}.`);
  }
  return { cli, build, ownProviderConfig, clearCliConfig, lines };
}
