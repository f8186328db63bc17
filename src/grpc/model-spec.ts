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

/** Reads a request's model_spec; INVALID_ARGUMENT when it is missing or names no model. */
export function readModelSpec(spec: ModelSpecMessage | null | undefined): ResolvedModelSpec {
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
  return { model: spec.name, selector, signatureName: spec.signature_name ?? '' };
}

/** The ModelSpec a response carries: the model, the version that answered, and the signature. */
export function writeModelSpec(name: string, version: number, signatureName?: string): ModelSpecMessage {
  return { name, version: { value: String(version) }, ...(signatureName !== undefined ? { signature_name: signatureName } : {}) };
}
