/**
 * TF Serving's canonical status codes (absl / gRPC), by name. Every error this library raises carries one.
 */
export type StatusCode =
  | 'OK'
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

const STATUS_CODES: ReadonlySet<string> = new Set<StatusCode>([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

/** True for one of TF Serving's canonical code names. */
export function isStatusCode(value: unknown): value is StatusCode {
  return typeof value === 'string' && STATUS_CODES.has(value);
}

/** A status as TF Serving reports it in JSON: `{error_code, error_message}`. */
export interface Status {
  error_code: StatusCode;
  error_message: string;
}

export const OK_STATUS: Status = Object.freeze<Status>({ error_code: 'OK', error_message: '' });

/**
 * The one error class of tfjs-serving: a TF Serving status code and a message that names the offending
 * input and what was expected.
 */
export class ServingError extends Error {
  override readonly name = 'ServingError';
  readonly code: StatusCode;

  constructor(code: StatusCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /** Wraps anything thrown into a ServingError, keeping ServingErrors (and their code) as they are. */
  static from(error: unknown, code: StatusCode = 'UNKNOWN', prefix = ''): ServingError {
    if (error instanceof ServingError) {
      return prefix ? new ServingError(error.code, prefix + error.message, { cause: error }) : error;
    }
    if (isQuotaError(error)) {
      return new ServingError('RESOURCE_EXHAUSTED', prefix + messageOf(error), { cause: error });
    }
    // Errors of the same family from elsewhere (the converter's ConverterError) keep their code.
    const own = (error as { code?: unknown } | null)?.code;
    if (isStatusCode(own) && own !== 'OK') {
      return new ServingError(own, prefix + messageOf(error), { cause: error });
    }
    return new ServingError(code, prefix + messageOf(error), { cause: error });
  }

  toStatus(): Status {
    return { error_code: this.code, error_message: this.message };
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True for a browser storage quota error (DOMException QuotaExceededError) or a full disk (ENOSPC). */
export function isQuotaError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e: { name?: unknown; code?: unknown } = error;
  return e.name === 'QuotaExceededError' || e.code === 'ENOSPC' || e.code === 22;
}
