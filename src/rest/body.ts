// Reads a request body into one byte array, counting what streams in (Content-Length or chunked):
// a body past the limit is refused with RESOURCE_EXHAUSTED before it is held, not after.
import { ServingError, messageOf } from '../core/status.js';

/** Default largest REST request body: 64 MiB (`--rest_api_max_body_bytes`, RestOptions.maxBodyBytes). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

function tooBig(limit: number, declared?: number): ServingError {
  const size = declared === undefined ? 'more than that' : `${declared} bytes`;
  return new ServingError(
    'RESOURCE_EXHAUSTED',
    `request body of ${size} exceeds the limit of ${limit} bytes (--rest_api_max_body_bytes); split the request into smaller batches`,
  );
}

/**
 * The body's bytes. With a Content-Length the array is allocated once at that size; a chunked body
 * is gathered in its chunks and copied once at the end. Past `limit` bytes it stops reading and
 * throws RESOURCE_EXHAUSTED (the rest of the stream is left to the transport to drain or drop).
 */
export async function readBodyBytes(request: Request, limit: number): Promise<Uint8Array> {
  const header = request.headers.get('content-length');
  const declared = header === null || header.trim() === '' ? undefined : Number(header);
  if (declared !== undefined && Number.isFinite(declared) && declared > limit) throw tooBig(limit, declared);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const exact = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? new Uint8Array(declared) : undefined;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        throw new ServingError('INVALID_ARGUMENT', `reading the request body failed: ${messageOf(e)}`);
      }
      if (next.done) break;
      const chunk = next.value;
      if (total + chunk.length > limit) throw tooBig(limit, declared);
      if (exact) {
        if (total + chunk.length > exact.length) throw new ServingError('INVALID_ARGUMENT', `the request body is longer than its Content-Length of ${exact.length} bytes`);
        exact.set(chunk, total);
      } else chunks.push(chunk);
      total += chunk.length;
    }
  } finally {
    reader.releaseLock();
  }
  if (exact) return total === exact.length ? exact : exact.subarray(0, total);
  // Chunked: one copy at the end.
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
