// Classify and Regress over gRPC: tf.Example inputs (tensorflow.serving.Input) read through the same
// functions as REST's :classify/:regress (src/rest/examples.ts), the parse spec the converter records,
// and the results written as ClassificationResult / RegressionResult.
import { ServingError } from '../core/status.js';
import { classifyResponseJson, regressResponseJson } from '../rest/examples.js';
import { runExamples } from '../rest/example-requests.js';
import type { JsonValue } from '../rest/json.js';
import { parseJson } from '../rest/json.js';
import type { ModelServer } from '../server/model-server.js';
import type { GrpcCall, ModelSpecMessage } from './model-spec.js';
import { readModelSpec, writeModelSpec } from './model-spec.js';

interface FeatureMessage {
  bytes_list?: { value?: Uint8Array[] };
  float_list?: { value?: number[] };
  int64_list?: { value?: Array<string | number> };
}
interface ExampleMessage {
  features?: { feature?: Record<string, FeatureMessage> };
}
export interface InputMessage {
  example_list?: { examples?: ExampleMessage[] };
  example_list_with_context?: { examples?: ExampleMessage[]; context?: ExampleMessage };
}
export interface ClassifyOrRegressRequest {
  model_spec?: ModelSpecMessage;
  input?: InputMessage;
}

/** A tf.Example as the REST `examples` JSON: bytes as `{"b64": …}`, int64 as numbers. */
function exampleToJson(example: ExampleMessage | undefined): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [name, feature] of Object.entries(example?.features?.feature ?? {})) {
    if (feature.bytes_list) out[name] = (feature.bytes_list.value ?? []).map((b) => ({ b64: Buffer.from(b).toString('base64') }));
    else if (feature.float_list) out[name] = [...(feature.float_list.value ?? [])];
    else if (feature.int64_list) out[name] = (feature.int64_list.value ?? []).map((v) => Number(v));
    else out[name] = [];
  }
  return out;
}

/** The REST body the Input stands for (`examples` and `context`), to read with examplesFromJson. */
function inputToJson(input: InputMessage | undefined, signatureName: string): { [key: string]: JsonValue } {
  const list = input?.example_list ?? input?.example_list_with_context;
  const examples = list?.examples ?? [];
  if (examples.length === 0) throw new ServingError('INVALID_ARGUMENT', 'Input is empty.');
  const body: { [key: string]: JsonValue } = { signature_name: signatureName, examples: examples.map(exampleToJson) };
  if (input?.example_list_with_context?.context) body.context = exampleToJson(input.example_list_with_context.context);
  return body;
}

async function run(server: ModelServer, method: 'classify' | 'regress', request: ClassifyOrRegressRequest, call: GrpcCall): Promise<{ spec: ModelSpecMessage; json: { results: JsonValue[] } }> {
  const { model, selector, signatureName } = readModelSpec(request.model_spec, call);
  const r = await runExamples(server, method, model, selector, inputToJson(request.input, signatureName), 'GRPC');
  const text =
    method === 'classify' ? classifyResponseJson(r.outputs, r.exampleCount, r.signatureName) : regressResponseJson(r.outputs, r.exampleCount, r.signatureName);
  return { spec: writeModelSpec(model, r.version, r.signatureName), json: parseJson(text) as { results: JsonValue[] } }; // our own JSON, just written
}

/** PredictionService.Classify → ClassificationResponse. */
export async function classify(server: ModelServer, request: ClassifyOrRegressRequest, call: GrpcCall = {}): Promise<object> {
  const { spec, json } = await run(server, 'classify', request, call);
  const classifications = (json.results as Array<Array<[string, number]>>).map((row) => ({ classes: row.map(([label, score]) => ({ label, score })) }));
  return { model_spec: spec, result: { classifications } };
}

/** PredictionService.Regress → RegressionResponse. */
export async function regress(server: ModelServer, request: ClassifyOrRegressRequest, call: GrpcCall = {}): Promise<object> {
  const { spec, json } = await run(server, 'regress', request, call);
  return { model_spec: spec, result: { regressions: (json.results as number[]).map((value) => ({ value })) } };
}
