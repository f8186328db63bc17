// GetModelMetadata's signature_def packed as TF Serving's gRPC GetModelMetadata writes it.
import { servingMessageType } from '../config/proto-root.js';
export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

/** google.protobuf.Any holding a tensorflow.serving.SignatureDefMap, from the metadata's JSON form. */
export function packSignatureDefMap(signatureDefs: Record<string, unknown>): { type_url: string; value: Uint8Array } {
  const type = servingMessageType('tensorflow.serving.SignatureDefMap');
  const message = type.fromObject({ signature_def: signatureDefs });
  return { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: type.encode(message).finish() };
}
