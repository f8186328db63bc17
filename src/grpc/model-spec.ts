// tensorflow.serving.ModelSpec ⇄ the ModelServer's version selectors.
import { ServingError } from '../core/status.js';
import type { VersionSelector } from '../server/api-types.js';

/** ModelSpec as proto-loader gives it (int64 as strings, the oneof's member name in version_choice). */
export interface ModelSpecMessage {
  name?: string;
  version?: { value?: string | number } | null;
  version_label?: string;
  version_choice?: string;
  signature_name?: string;
}

export interface ResolvedModelSpec {
  readonly model: string;
  readonly selector: VersionSelector;
  readonly signatureName: string;
}

/** What a call carries besides its message: the client's deadline and the user id of its metadata. */
export interface GrpcCall {
  /** The client's deadline as a Date.now() time; absent when it set none. */
  readonly deadline?: number;
  /** The `x-tfjs-serving-user` metadata (REST's `X-Tfjs-Serving-User`): assigns the call to a canary, sticky per user. */
  readonly userId?: string;
}

/** Reads a request's model_spec (and the call's user id, for canary routing); INVALID_ARGUMENT when it is missing or names no model. */
export function readModelSpec(spec: ModelSpecMessage | null | undefined, call: GrpcCall = {}): ResolvedModelSpec {
  if (!spec) throw new ServingError('INVALID_ARGUMENT', 'Missing ModelSpec');
  if (!spec.name) throw new ServingError('INVALID_ARGUMENT', 'ModelSpec has no model name');
  const selector: VersionSelector = {};
  if (spec.version !== undefined && spec.version !== null) {
    const version = Number(spec.version.value ?? 0);
    if (!Number.isSafeInteger(version) || version < 0) throw new ServingError('INVALID_ARGUMENT', `ModelSpec.version ${String(spec.version.value)} is not a valid version`);
    selector.version = version;
  } else if (spec.version_label) {
    selector.label = spec.version_label;
  }
  if (call.userId !== undefined) selector.userId = call.userId;
  return { model: spec.name, selector, signatureName: spec.signature_name ?? '' };
}

/** The ModelSpec a response carries: the model, the version that answered, and the signature. */
export function writeModelSpec(name: string, version: number, signatureName?: string): ModelSpecMessage {
  return { name, version: { value: String(version) }, ...(signatureName !== undefined ? { signature_name: signatureName } : {}) };
}
