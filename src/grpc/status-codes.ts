// TF Serving's canonical status codes as gRPC status numbers (they are the same numbers:
// tensorflow/core/protobuf/error_codes.proto mirrors grpc/status.h), and errors as gRPC errors.
import { Metadata, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import type { StatusCode } from '../core/status.js';
import { ServingError } from '../core/status.js';

const GRPC_CODES: Record<StatusCode, status> = {
  OK: status.OK,
  CANCELLED: status.CANCELLED,
  UNKNOWN: status.UNKNOWN,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  ABORTED: status.ABORTED,
  OUT_OF_RANGE: status.OUT_OF_RANGE,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
  UNAVAILABLE: status.UNAVAILABLE,
  DATA_LOSS: status.DATA_LOSS,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
};

/** The gRPC status number of a TF Serving code (INVALID_ARGUMENT → 3, NOT_FOUND → 5, …). */
export function grpcStatusOf(code: StatusCode): status {
  return GRPC_CODES[code];
}

/** Anything thrown, as the error a unary handler passes to its callback (code + details). */
export function toServiceError(error: unknown): Partial<ServiceError> & { code: status; details: string } {
  const e = ServingError.from(error, 'INTERNAL');
  return { name: 'ServingError', message: e.message, code: grpcStatusOf(e.code), details: e.message, metadata: new Metadata() };
}
