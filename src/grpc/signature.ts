// The signature a request resolves to, from the ModelServer's GetModelMetadata (TF Serving's JSON
// form of SignatureDef), and that metadata packed as TF Serving's gRPC GetModelMetadata writes it.
import { servingMessageType } from '../config/proto-root.js';
import { ServingError } from '../core/status.js';
import type { GetModelMetadataResponse, VersionSelector } from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';

export const SERVING_DEFAULT = 'serving_default';
export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

export interface TensorInfoJson {
  dtype?: string;
  tensor_shape?: { dim?: Array<{ size?: string | number }>; unknown_rank?: boolean };
  name?: string;
}

export interface SignatureDefJson {
  inputs?: Record<string, TensorInfoJson>;
  outputs?: Record<string, TensorInfoJson>;
  method_name?: string;
}

export interface ResolvedSignature {
  readonly version: number;
  readonly name: string;
  readonly def: SignatureDefJson;
}

/** The version a request resolves to now and its signature (INVALID_ARGUMENT when the name is unknown). */
export async function resolveSignature(server: ModelServer, model: string, selector: VersionSelector, signatureName: string): Promise<ResolvedSignature> {
  const meta: GetModelMetadataResponse = await server.getModelMetadata(model, selector);
  const name = signatureName || SERVING_DEFAULT;
  const defs = meta.metadata.signature_def.signature_def as Record<string, SignatureDefJson>;
  const def = defs[name];
  if (!def) throw new ServingError('INVALID_ARGUMENT', `Serving signature name: "${name}" not found in signature def`);
  return { version: Number(meta.model_spec.version), name, def };
}

/** google.protobuf.Any holding a tensorflow.serving.SignatureDefMap, from the metadata's JSON form. */
export function packSignatureDefMap(signatureDefs: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const type = servingMessageType('tensorflow.serving.SignatureDefMap');
  const message = type.fromObject({ signature_def: signatureDefs });
  return { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: type.encode(message).finish() };
}
