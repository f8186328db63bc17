// File-system errors (Node's errno codes) as TF Serving status codes, so status and REST say more than UNKNOWN.
import type { StatusCode } from '../core/status.js';
import { ServingError, messageOf } from '../core/status.js';

const BY_ERRNO: Readonly<Record<string, StatusCode>> = {
  ENOENT: 'NOT_FOUND',
  ENOTDIR: 'NOT_FOUND',
  EACCES: 'PERMISSION_DENIED',
  EPERM: 'PERMISSION_DENIED',
  EROFS: 'PERMISSION_DENIED',
  ENOSPC: 'RESOURCE_EXHAUSTED',
  EDQUOT: 'RESOURCE_EXHAUSTED',
  EMFILE: 'UNAVAILABLE',
  ENFILE: 'UNAVAILABLE',
  EBUSY: 'UNAVAILABLE',
  EAGAIN: 'UNAVAILABLE',
  EIO: 'DATA_LOSS',
  ELOOP: 'FAILED_PRECONDITION',
  EISDIR: 'INVALID_ARGUMENT',
  ENAMETOOLONG: 'INVALID_ARGUMENT',
};

/** The errno code of what a Node fs call rejected with, if any. */
export function errnoOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** TF Serving's code for a file-system error (UNKNOWN when it is not one). */
export function statusCodeOfFsError(e: unknown): StatusCode {
  return BY_ERRNO[errnoOf(e) ?? ''] ?? 'UNKNOWN';
}

/** A ServingError for a file-system error: its TF Serving code, and `what` failed (ServingErrors pass through). */
export function fsError(e: unknown, what: string): ServingError {
  if (e instanceof ServingError) return e;
  return new ServingError(statusCodeOfFsError(e), `${what}: ${messageOf(e)}`, { cause: e });
}
