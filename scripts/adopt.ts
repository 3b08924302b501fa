// npm run adopt -- <stack dir>...: after an apply was killed before OpenTofu
// wrote its state, the containers and networks it created are still on the
// engine, and the next apply fails on their names. This finds, for each
// container and network the stack declares but its state lacks, the object
// of that name on the engine: one the library labelled for this very stack
// and address (OWNER_LABELS) is adopted by an `import` block (adopt.tf.json
// beside cdk.tf.json, which the next plain apply carries out); one it did
// not create is refused, by name. Volumes need nothing: creating a volume
// that exists takes it over.
//
// Usage: npm run adopt -- cdktf.out/stacks/<stack> [...]  (OpenTofu from
// TERRAFORM_BINARY_NAME or `tofu` on PATH, the engine from DOCKER_HOST, the
// stack's variables, e.g. TF_VAR_state_passphrase, from the environment).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { OWNER_LABELS } from '../lib/docker/stack-engine';

const ADOPTED_TYPES = ['docker_container', 'docker_network'] as const;
export const IMPORTS_FILE = 'adopt.tf.json';

export interface AdoptionTools {
  /** `tofu state list` in the stack's directory. */
  readonly stateList: () => Promise<string[]>;
  /** `docker <kind> inspect <name>`'s first object, or undefined where there is none. */
  readonly inspect: (kind: 'container' | 'network', name: string) => Promise<{ Id: string; Labels?: Record<string, string> | null; Config?: { Labels?: Record<string, string> | null } } | undefined>;
  /** The ACL policy of that name, through the stack's provider of that alias (`consul.dc1`). */
  readonly policy: (provider: string, name: string) => Promise<{ ID: string; Description: string } | undefined>;
}

export interface Adoption {
  /** The stack (its id, which the labels name). */
  readonly stack: string;
  /** Import blocks written: `<address> <- <docker id>`. */
  readonly adopted: string[];
}

/**
 * Writes (or removes) adopt.tf.json in `dir` for what the state lacks;
 * throws, naming each, for objects in the way that the stack does not own.
 */
export async function adopt(dir: string, tools: AdoptionTools): Promise<Adoption> {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8'));
  const owner = ADOPTED_TYPES.flatMap((t) => Object.values<any>(config.resource?.[t] ?? {}))
    .flatMap((b) => (Array.isArray(b.labels) ? b.labels : [])).find((l: { label: string }) => l.label === OWNER_LABELS.stack)?.value;
  const stack: string = config['//']?.metadata?.stackName ?? owner ?? path.basename(dir);
  const inState = new Set(await tools.stateList());
  const imports: { to: string; id: string }[] = [];
  const refused: string[] = [];
  for (const type of ADOPTED_TYPES) {
    for (const [id, body] of Object.entries<any>(config.resource?.[type] ?? {})) {
      const address = `${type}.${id}`;
      if (inState.has(address) || typeof body.name !== 'string' || body.name.includes('${')) continue;
      const found = await tools.inspect(type === 'docker_container' ? 'container' : 'network', body.name);
      if (!found) continue;
      const labels = (type === 'docker_container' ? found.Config?.Labels : found.Labels) ?? {};
      // The owner labels the synthesized stack gives this very resource (the stack as cdktf names it, the address).
      const want = Object.fromEntries((Array.isArray(body.labels) ? body.labels : []).map((l: { label: string; value: string }) => [l.label, l.value]));
      if (want[OWNER_LABELS.stack] !== undefined && labels[OWNER_LABELS.stack] === want[OWNER_LABELS.stack] && labels[OWNER_LABELS.address] === address) {
        imports.push({ to: address, id: found.Id });
      } else {
        refused.push(`${type === 'docker_container' ? 'container' : 'network'} "${body.name}" (wanted by ${address}) is ${labels[OWNER_LABELS.stack]
          ? `stack ${labels[OWNER_LABELS.stack]}'s ${labels[OWNER_LABELS.address]}` : 'not one this library created'}`);
      }
    }
  }
  // ACL policy names are unique: one a killed apply created blocks the next. Adopted when its description is the stack's.
  for (const [id, body] of Object.entries<any>(config.resource?.consul_acl_policy ?? {})) {
    const address = `consul_acl_policy.${id}`;
    if (inState.has(address) || typeof body.name !== 'string' || body.name.includes('${')) continue;
    const found = await tools.policy(body.provider ?? 'consul', body.name);
    if (!found) continue;
    if (found.Description === body.description) imports.push({ to: address, id: found.ID });
    else refused.push(`ACL policy "${body.name}" (wanted by ${address}) has the description "${found.Description}", not this stack's`);
  }
  if (refused.length > 0) {
    throw new Error(`stack ${stack}: objects in the way that are not its own, left alone:\n  ${refused.join('\n  ')}\n`
      + 'Remove or rename them (they are not the library\'s to adopt), or point the stack at another engine or namePrefix.');
  }
  const file = path.join(dir, IMPORTS_FILE);
  // OpenTofu reads `to` as a bare address, not a template.
  if (imports.length > 0) fs.writeFileSync(file, JSON.stringify({ import: imports }, null, 2));
  else fs.rmSync(file, { force: true });
  return { stack, adopted: imports.map((i) => `${i.to} <- ${i.id.slice(0, 12)}`) };
}

/** Removes the import blocks once an apply carried them out: an import of what is in state again would be refused if its object was replaced. */
export function forgetImports(dir: string): void {
  fs.rmSync(path.join(dir, IMPORTS_FILE), { force: true });
}

/** The tools on this machine: OpenTofu and the docker CLI, as the environment names them. */
export function localTools(dir: string, env: NodeJS.ProcessEnv = process.env): AdoptionTools {
  const tofu = env.TERRAFORM_BINARY_NAME || 'tofu';
  // The stack's consul provider blocks, read once (adopt asks once per policy).
  let providers: any[] | undefined;
  const consulProviders = (): any[] => (providers ??= JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')).provider?.consul ?? []);
  return {
    stateList: async () => {
      const r = spawnSync(tofu, ['state', 'list', '-no-color'], { cwd: dir, env, encoding: 'utf8' });
      // No state yet (never applied, or the kill came before the first write): everything is missing from it.
      if (r.status !== 0 && /No state file was found|does not exist/.test(r.stderr)) return [];
      if (r.status !== 0) throw new Error(`${tofu} state list in ${dir} failed: ${r.stderr}`);
      return r.stdout.split('\n').filter(Boolean);
    },
    inspect: async (kind, name) => {
      const r = spawnSync('docker', [kind, 'inspect', name], { env, encoding: 'utf8' });
      return r.status === 0 ? JSON.parse(r.stdout)[0] : undefined;
    },
    policy: async (provider, name) => {
      // The provider block the stack declares under that alias; its token a variable the environment sets.
      const alias = provider.split('.')[1];
      const blocks = consulProviders();
      const given = blocks.find((p) => p.alias === alias);
      if (!given) throw new Error(`no consul provider "${provider}" in ${dir}/cdk.tf.json`);
      // ACL policies live in the primary: ask its own provider when the stack has one, not a secondary that forwards
      // (which answers "No path to datacenter" until the federation is joined).
      const block = blocks.find((p) => p.datacenter === given.datacenter && p.alias === given.datacenter) ?? given;
      const token = /^\$\{var\.([A-Za-z0-9_]+)\}$/.exec(block.token ?? '')?.[1];
      const url = `${block.scheme ?? 'http'}://${block.address}/v1/acl/policy/name/${encodeURIComponent(name)}${block.datacenter ? `?dc=${block.datacenter}` : ''}`;
      const res = await fetch(url, { headers: { 'X-Consul-Token': token ? env[`TF_VAR_${token}`] ?? '' : block.token ?? '' }, signal: AbortSignal.timeout(10_000) })
        // No server answering: nothing of the stack runs yet (a first apply), so no policy can be in the way.
        .catch(() => undefined);
      if (!res) return undefined;
      if (res.status === 404 || res.status === 403 && /not found/i.test(await res.clone().text())) return undefined;
      // Servers up but not serving ACLs yet (no leader, no path to the primary): nothing is checked now. Should a
      // policy of the stack's be in the way, the apply fails on it, and the run after adopts it.
      if (res.status >= 500) return undefined;
      if (!res.ok) throw new Error(`reading ACL policy "${name}" through ${provider}: ${res.status} ${await res.text()}`);
      return await res.json() as { ID: string; Description: string };
    },
  };
}

if (require.main === module) {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    process.stderr.write('usage: npm run adopt -- cdktf.out/stacks/<stack> [...] (run `tofu init` there first)\n');
    process.exit(2);
  }
  (async () => {
    for (const dir of dirs) {
      const { stack, adopted } = await adopt(dir, localTools(dir));
      process.stdout.write(adopted.length > 0 ? `${stack}: adopting ${adopted.length} (next apply imports them): ${adopted.join(', ')}\n` : `${stack}: nothing to adopt\n`);
    }
  })().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : e}\n`);
    process.exitCode = 1;
  });
}
