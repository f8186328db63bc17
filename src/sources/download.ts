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

export function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  const base = messageOf(e);
  return cause ? `${base} (${messageOf(cause)})` : base;
}
