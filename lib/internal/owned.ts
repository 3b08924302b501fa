/**
 * What an `addX` stores and returns: a copy the construct owns, frozen (its
 * arrays too) so that neither the caller's object nor the returned one can
 * change what the construct renders behind its back. Values that are class
 * instances (typed values such as a mode) are immutable already and kept.
 */
export function owned<T extends object>(value: T): T {
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined) copy[key] = Array.isArray(v) ? Object.freeze([...v]) : v;
  }
  return Object.freeze(copy) as T;
}
