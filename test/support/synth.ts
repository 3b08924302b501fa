import { App, TerraformStack, Testing } from 'cdktf';

export type Json = Record<string, any>;

/** A fresh stack in a fresh app, for one test. */
export function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'test');
}

/** Synthesizes with validations on, as `cdktf synth` would, and parses the result. */
export function synthJson(stack: TerraformStack): Json {
  return JSON.parse(Testing.synth(stack, true));
}

/**
 * Every resource of a type, keyed by construct path below the stack (cdktf's
 * logical ids are the path joined by `_` plus an 8-digit hash).
 */
export function resourcesOf(json: Json, type: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [logicalId, body] of Object.entries<Json>(json.resource?.[type] ?? {})) {
    out[logicalId.replace(/_[0-9A-F]{8}$/, '').split('_').join('/')] = body;
  }
  return out;
}

/** cdktf leaves `Resource` and `Default` out of logical ids, as CDK does. */
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
  const [block, name] = type.startsWith('data.') ? ['data', type.slice(5)] : ['resource', type];
  const logicalId = Object.keys(json[block]?.[name] ?? {}).find((id) => id.replace(/_[0-9A-F]{8}$/, '') === idPath(path).split('/').join('_'));
  if (!logicalId) throw new Error(`no ${type} at ${path}`);
  return `${type}.${logicalId}`;
}

/** The agent configuration uploaded into a server container. */
export function uploadedConfig(container: Json): Json {
  return JSON.parse(container.upload[0].content);
}

export { App };
