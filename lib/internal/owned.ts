/**
 * What an `addX` stores and returns: a copy the construct owns, whose
 * properties are read-only (and its arrays frozen) so that neither the
 * caller's object nor the returned one can change what the construct
 * renders behind its back. The object itself stays extensible: the jsii
 * kernel tags every object it hands to another language. Values that are
 * class instances (typed values such as a mode) are immutable already and kept.
 */
export function owned<T extends object>(value: T): T {
  const copy: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    Object.defineProperty(copy, key, { value: Array.isArray(v) ? Object.freeze([...v]) : v, enumerable: true, writable: false, configurable: false });
  }
  return copy as T;
}
