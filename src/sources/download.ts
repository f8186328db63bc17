import { ServingError, messageOf } from '../core/status.js';
import type { VersionFile } from '../storage/model-store.js';
import { sha256Hex } from '../storage/sha256.js';

export interface ByteProgress {
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

/**
 * Downloads one file and checks its HTTP status, size and SHA-256. A status error is UNAVAILABLE
 * (5xx, network) or NOT_FOUND (404); a wrong size or hash, or a body cut short, is DATA_LOSS.
 */
export async function downloadFile(
  fetchFn: typeof fetch,
  url: string,
  file: VersionFile,
  signal: AbortSignal,
  onBytes: (n: number) => void,
  /** Told when the body is in and its SHA-256 is being checked. */
  onVerify?: () => void,
): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url, { signal });
  } catch (e) {
    throw new ServingError('UNAVAILABLE', `GET ${url} failed: ${describeFetchError(e)}`, { cause: e });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new ServingError(response.status === 404 ? 'NOT_FOUND' : 'UNAVAILABLE', `GET ${url} returned HTTP ${response.status} ${response.statusText}`.trim());
  }
  const bytes = new Uint8Array(file.size);
  let offset = 0;
  try {
    const reader = response.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (offset + value.byteLength > file.size) {
          await reader.cancel().catch(() => undefined);
          throw new ServingError('DATA_LOSS', `GET ${url}: the body is longer than the ${file.size} bytes the manifest lists for ${file.path}`);
        }
        bytes.set(value, offset);
        offset += value.byteLength;
        onBytes(value.byteLength);
      }
    }
  } catch (e) {
    if (e instanceof ServingError) throw e;
    throw new ServingError('UNAVAILABLE', `GET ${url}: the connection failed after ${offset} of ${file.size} bytes: ${describeFetchError(e)}`, { cause: e });
  }
  if (offset !== file.size) {
    throw new ServingError('DATA_LOSS', `GET ${url}: got ${offset} bytes, but the manifest lists ${file.size} for ${file.path}`);
  }
  onVerify?.();
  const digest = await sha256Hex(bytes);
  if (digest !== file.sha256) {
    throw new ServingError('DATA_LOSS', `GET ${url}: sha256 ${digest} does not match the manifest's ${file.sha256} for ${file.path}`);
  }
  return bytes;
}

/**
 * The largest manifest.json read, after decompression (16 MiB: about 100,000 file entries). A bigger
 * body (or a gzip bomb) stops being read at that size and fails RESOURCE_EXHAUSTED.
 */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * A response body as text, read chunk by chunk (decompressed, as fetch hands it over) and refused
 * with RESOURCE_EXHAUSTED as soon as it passes `limit` bytes, before more is held.
 */
export async function readTextCapped(response: Response, limit: number, what: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        throw new ServingError('RESOURCE_EXHAUSTED', `${what}: the body (after decompression) is larger than the limit of ${limit} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ServingError) throw e;
    throw new ServingError('UNAVAILABLE', `${what}: reading the body failed after ${total} bytes: ${describeFetchError(e)}`, { cause: e });
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

export function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  const base = messageOf(e);
  return cause ? `${base} (${messageOf(cause)})` : base;
}
