/**
 * Polls `read` until `ok` holds or `timeoutMs` passes; then throws with what
 * was awaited and the last value seen, so a timeout explains itself.
 */
export async function eventually<T>(what: string, read: () => Promise<T>, ok: (t: T) => boolean,
  timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await read();
  }
  if (!ok(last)) throw new Error(`${what}: still ${JSON.stringify(last)}`);
  return last;
}
