/**
 * The ArrayBuffers inside a message that can be transferred instead of copied: those of typed arrays
 * that own their whole buffer (a view into a larger buffer is copied, so its neighbours survive).
 */
export function transferablesOf(value: unknown, out: Set<ArrayBuffer> = new Set(), depth = 0): ArrayBuffer[] {
  if (depth > 8 || value === null || typeof value !== 'object') return [...out];
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength) out.add(b);
    return [...out];
  }
  if (Array.isArray(value)) {
    // Large nested arrays hold numbers, not buffers: do not walk them.
    if (value.length > 0 && typeof value[0] !== 'object') return [...out];
    for (const v of value) transferablesOf(v, out, depth + 1);
    return [...out];
  }
  for (const v of Object.values(value)) transferablesOf(v, out, depth + 1);
  return [...out];
}
