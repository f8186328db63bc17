// tensorflow.serving.PredictionService over a ModelServer: Predict, Classify, Regress,
// GetModelMetadata and MultiInference, as TF Serving's gRPC server answers them.
import { ServingError } from '../core/status.js';
import { dtypeFromTf } from '../runtime/dtypes.js';
import type { TensorInput } from '../runtime/tensor.js';
import type { ModelServer } from '../server/model-server.js';
import type { ClassifyOrRegressRequest } from './classify-regress.js';
import { classify, regress } from './classify-regress.js';
import type { GrpcCall, ModelSpecMessage } from './model-spec.js';
import { readModelSpec, writeModelSpec } from './model-spec.js';
import type { MultiInferenceRequestMessage } from './multi-inference.js';
import { multiInference } from './multi-inference.js';
import { packSignatureDefMap } from './signature.js';
import type { TensorProtoMessage } from './tensor-proto.js';
import { dataTypeName, decodeTensorProto, encodeTensorProto } from './tensor-proto.js';
import { runOnPinnedVersion } from '../rest/pinned-version.js';
import type { GetSignatureResponse } from '../server/api-types.js';

export interface PredictRequestMessage {
  model_spec?: ModelSpecMessage;
  inputs?: Record<string, TensorProtoMessage>;
  output_filter?: string[];
}

export interface GetModelMetadataRequestMessage {
  model_spec?: ModelSpecMessage;
  metadata_field?: string[];
}

/** Predict: TensorProto inputs (typed fields or tensor_content), outputs as TF Serving writes them. */
export async function predict(server: ModelServer, request: PredictRequestMessage, call: GrpcCall = {}): Promise<object> {
  const { model, selector, signatureName } = readModelSpec(request.model_spec, call);
  const deadline = call.deadline;
  // Read with the signature of the version picked now, and run pinned to it (a swap in between: once more).
  return runOnPinnedVersion(server, model, selector, signatureName || undefined, ({ model: spec, signature }) => predictOn(server, request, model, spec, signature, deadline));
}

async function predictOn(
  server: ModelServer,
  request: PredictRequestMessage,
  model: string,
  spec: GetSignatureResponse['model'],
  signature: GetSignatureResponse['signature'],
  deadline: number | undefined,
): Promise<object> {
  const declaredInputs = Object.fromEntries(signature.inputs.map((t) => [t.key, t.tfDtype]));
  const inputs: Record<string, TensorInput> = {};
  for (const [key, proto] of Object.entries(request.inputs ?? {})) {
    const tensor = decodeTensorProto(proto, `input "${key}"`);
    const declared = declaredInputs[key];
    if (declared && declared !== 'DT_INVALID' && declared !== tensor.tfDtype) {
      throw new ServingError('INVALID_ARGUMENT', `Expects arg "${key}" to be ${dataTypeName(declared)} but ${dataTypeName(tensor.tfDtype)} is provided`);
    }
    inputs[key] = { shape: tensor.shape, data: tensor.data };
  }
  const declaredOutputs = Object.fromEntries(signature.outputs.map((t) => [t.key, t.tfDtype]));
  const filter = request.output_filter ?? [];
  const seen = new Set<string>();
  for (const alias of filter) {
    if (!(alias in declaredOutputs)) {
      throw new ServingError('INVALID_ARGUMENT', `output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${Object.keys(declaredOutputs).join(',')}}.`);
    }
    if (seen.has(alias)) throw new ServingError('INVALID_ARGUMENT', `duplicate output tensor alias: ${alias}`);
    seen.add(alias);
  }
  // Pinned to the version whose signature was read (never a mismatch).
  const response = await server.predict({ model, version: spec.version, signatureName: spec.signatureName, inputs }, { entrypoint: 'GRPC', ...(deadline !== undefined ? { deadline } : {}) });
  const outputs: Record<string, TensorProtoMessage> = {};
  for (const [key, tensor] of Object.entries(response.outputs)) {
    if (seen.size > 0 && !seen.has(key)) continue;
    const declared = declaredOutputs[key];
    const tfDtype = declared && dtypeFromTf(declared) === tensor.dtype ? declared : undefined;
    outputs[key] = encodeTensorProto(tensor, tfDtype);
  }
  return { model_spec: writeModelSpec(response.model.name, response.model.version, response.model.signatureName), outputs };
}

/** GetModelMetadata: `signature_def` packed as a SignatureDefMap in an Any. */
export async function getModelMetadata(server: ModelServer, request: GetModelMetadataRequestMessage, call: GrpcCall = {}): Promise<object> {
  const { model, selector } = readModelSpec(request.model_spec, call);
  const fields = request.metadata_field ?? [];
  if (fields.length === 0) throw new ServingError('INVALID_ARGUMENT', 'GetModelMetadataRequest must specify at least one metadata_field');
  for (const field of fields) {
    if (field !== 'signature_def') throw new ServingError('INVALID_ARGUMENT', `Metadata field ${field} is not supported`);
  }
  const meta = await server.getModelMetadata(model, selector);
  return {
    model_spec: writeModelSpec(meta.model_spec.name, Number(meta.model_spec.version)),
    metadata: { signature_def: packSignatureDefMap(meta.metadata.signature_def.signature_def) },
  };
}

export type PredictionMethod = 'Predict' | 'Classify' | 'Regress' | 'GetModelMetadata' | 'MultiInference';

/** The handler of each PredictionService method, as promises of response messages. */
export function predictionServiceHandlers(server: ModelServer): Record<PredictionMethod, (request: never, call: GrpcCall) => Promise<object>> {
  return {
    // The client's deadline goes with the predict: past it, the server drops the request unrun. The
    // user id (metadata) assigns calls that name no version or label to a canary.
    Predict: (request: PredictRequestMessage, call: GrpcCall) => predict(server, request, call),
    Classify: (request: ClassifyOrRegressRequest, call: GrpcCall) => classify(server, request, call),
    Regress: (request: ClassifyOrRegressRequest, call: GrpcCall) => regress(server, request, call),
    GetModelMetadata: (request: GetModelMetadataRequestMessage, call: GrpcCall) => getModelMetadata(server, request, call),
    MultiInference: (request: MultiInferenceRequestMessage, call: GrpcCall) => multiInference(server, request, call),
  };
}
