import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformDataSource, TerraformResource, TerraformStack, Testing } from 'cdktf';

export type Json = Record<string, any>;

/** A fresh stack in a fresh app, for one test. */
export function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'test');
}

const PATHS = Symbol('construct paths by block');

/**
 * Synthesizes with validations on, as `cdktf synth` would, and parses the
 * result. Testing.synth drops each block's metadata, so the construct path of
 * every block rides along, out of sight of equality checks.
 */
export function synthJson(stack: TerraformStack): Json {
  const json = JSON.parse(Testing.synth(stack, true));
  const paths = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    if (c instanceof TerraformResource || c instanceof TerraformDataSource) {
      paths.set(`${c.terraformResourceType}.${c.friendlyUniqueId}`, c.node.path);
    }
  }
  Object.defineProperty(json, PATHS, { value: paths, enumerable: false });
  return json;
}

/**
 * Every resource (or data source, `data.<type>`) of a type, keyed by its
 * construct path below the stack: logical ids are no guide (cdktf hashes the
 * path into them, and config entries are named after the entry instead).
 */
function blocksOf(json: Json, type: string): { logicalId: string; path: string; body: Json }[] {
  const [block, name] = type.startsWith('data.') ? ['data', type.slice(5)] : ['resource', type];
  return Object.entries<Json>(json[block]?.[name] ?? {}).map(([logicalId, body]) => {
    const path = body['//']?.metadata?.path ?? (json as { [PATHS]?: Map<string, string> })[PATHS]?.get(`${name}.${logicalId}`);
    if (path === undefined) throw new Error(`no construct path for ${type}.${logicalId}: parse the JSON with synthJson, or read a cdk.tf.json`);
    return { logicalId, body, path: idPath(String(path).split('/').slice(1).join('/')) };
  });
}

export function resourcesOf(json: Json, type: string): Record<string, Json> {
  return Object.fromEntries(blocksOf(json, type).map((b) => [b.path, b.body]));
}

/** cdktf leaves `Resource` and `Default` out of logical ids, as CDK does; paths here do the same. */
function idPath(path: string): string {
  return path.split('/').filter((part) => part !== 'Resource' && part !== 'Default').join('/');
}

export function resourceAt(json: Json, type: string, path: string): Json {
  const found = resourcesOf(json, type)[idPath(path)];
  if (!found) throw new Error(`no ${type} at ${path}; have: ${Object.keys(resourcesOf(json, type)).join(', ')}`);
  return found;
}

/** `type.logicalId` of the resource at a path, as depends_on spells it. */
export function addressOf(json: Json, type: string, path: string): string {
  const found = blocksOf(json, type).find((b) => b.path === idPath(path));
  if (!found) throw new Error(`no ${type} at ${path}`);
  return `${type}.${found.logicalId}`;
}

/**
 * A stack's outputs but the server counts the Docker datacenters record for
 * the next plan (lib/docker/server-removal-guard.ts): `<prefix>-<dc>-servers`,
 * a plain number, never a secret.
 */
export function outputsBesidesServerCounts(json: Json): Record<string, any> {
  return Object.fromEntries(Object.entries<any>(json.output ?? {}).filter(([name, o]) => !(/-servers$/.test(name) && typeof o.value === 'number')));
}

/** The agent configuration uploaded into a server container. */
export function uploadedConfig(container: Json): Json {
  // What the agent reads from its config dir: server.json, then live.json merged into it (as Consul merges the files).
  const [server, ...rest] = (container.upload as Json[]).map((u) => JSON.parse(u.content));
  return rest.reduce((all, more) => mergeConfig(all, more), server);
}

/** `from` merged into `into`, objects key by key, as Consul merges the files of its config dir. */
export function mergeConfig(into: Json, from: Json): Json {
  const out = { ...into };
  for (const [key, value] of Object.entries(from)) {
    out[key] = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' ? mergeConfig(out[key], value) : value;
  }
  return out;
}

export { App };

/** Synthesizes every stack of `app`, as `cdktf synth` writes them: the parsed cdk.tf.json of each, by stack name. */
export function synthApp(app: App): Record<string, Json> {
  app.synth();
  const stacks = app.node.children.filter((c): c is TerraformStack => c instanceof TerraformStack);
  return Object.fromEntries(stacks.map((s) => [s.node.id, JSON.parse(fs.readFileSync(path.join(app.outdir, 'stacks', s.node.id, 'cdk.tf.json'), 'utf8'))]));
}
