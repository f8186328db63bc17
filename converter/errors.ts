/**
 * The converter's typed error. `code` uses the absl / TF Serving status code
 * names so that callers (the CLI, `publish`, a model server) can map it to
 * an HTTP or gRPC status without parsing the message.
 */
export type ConverterErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'UNIMPLEMENTED'
  | 'FAILED_PRECONDITION'
  | 'DATA_LOSS'
  | 'INTERNAL';

export class ConverterError extends Error {
  readonly code: ConverterErrorCode;
  /** Extra structured detail, e.g. the list of unsupported ops. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ConverterErrorCode, message: string, details?: Record<string, unknown>) {
    super(`${code}: ${message}`);
    this.name = 'ConverterError';
    this.code = code;
    this.details = details;
  }
}

export function isConverterError(e: unknown): e is ConverterError {
  return e instanceof ConverterError;
}
