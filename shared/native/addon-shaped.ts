/**
 * A batch's strings and datagrams made as the addon's N-API calls make them, for the warm-ups
 * of the per-probe paths (controller/engine/warm-up-probe-path.ts, agent/warm-up-reflect-path.ts):
 * V8 compiles for the hidden classes (maps) it has seen, and the first real batch would
 * otherwise deoptimize what a warm-up compiled (checked with %HaveSameMap against a real
 * batch's: test/integration/warm-up-shapes.test.ts).
 */

/** napi_set_element into an empty array: the array is holey, not packed as a literal's. */
export function addonStrings(texts: readonly string[]): string[] {
  const strings = new Array<string>(texts.length);
  texts.forEach((text, i) => { strings[i] = text; });
  return strings;
}

/** node::Buffer::New: a Uint8Array given Buffer's prototype afterwards (not a FastBuffer). */
export function addonBuffer(bytes: Uint8Array): Buffer {
  const buffer = Object.setPrototypeOf(new Uint8Array(bytes.length), Buffer.prototype) as Buffer;
  buffer.set(bytes);
  return buffer;
}

/**
 * An address as the addon hands it over: made at run time, as its (and the command line's)
 * strings are; a literal would be an internalized string, of another instance type to V8
 * ("wrong instance type" at the first real batch).
 */
export function runtimeAddress(parts: readonly string[]): string {
  return parts.join('.');
}
