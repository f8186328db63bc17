// Classify and Regress over gRPC: tf.Example inputs (tensorflow.serving.Input) read through the same
// functions as REST's :classify/:regress (src/rest/examples.ts), the parse spec the converter records,
// and the results written as ClassificationResult / RegressionResult.
import { ServingError } from '../core/status.js';
import type { ParseSpecJson } from '../rest/examples.js';
import { classifyResponseJson, examplesFromJson, featureTensors, parseSpecFromModelJson, regressResponseJson } from '../rest/examples.js';
import type { JsonValue } from '../rest/json.js';
import { parseJson } from '../rest/json.js';
import type { ModelServer } from '../server/model-server.js';
import type { ModelStore } from '../storage/model-store.js';
import type { ModelSpecMessage } from './model-spec.js';
import { readModelSpec, writeModelSpec } from './model-spec.js';
import type { ResolvedSignature } from './signature.js';
import { resolveSignature } from './signature.js';

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

/**
 * The parse spec of a signature, from the version's model.json in the server's store (a
 * LocalModelServer). FAILED_PRECONDITION when the signature does not take tf.Example input.
 */
async function parseSpecOf(server: ModelServer, model: string, sig: ResolvedSignature): Promise<ParseSpecJson> {
  const where = `signature "${sig.name}" of model ${model} version ${sig.version}`;
  const store = (server as { store?: ModelStore }).store;
  const record = store && typeof store.getVersion === 'function' ? await store.getVersion(model, sig.version) : undefined;
  if (!store || !record) {
    throw new ServingError('FAILED_PRECONDITION', `${where}: Classify and Regress over gRPC need a ModelServer with a local store to read the parse spec from`);
  }
  const json = JSON.parse(new TextDecoder().decode(await store.readFile(model, sig.version, 'model.json'))) as unknown;
  const spec = parseSpecFromModelJson(json, sig.name);
  if (!spec) {
    throw new ServingError(
      'FAILED_PRECONDITION',
      `${where} takes no tf.Example input: its model.json has no userDefinedMetadata.signatures["${sig.name}"].parseSpec ` +
        '(convert the SavedModel with `tfjs-serving convert --signature_name all`); use Predict for tensor inputs.',
    );
  }
  return spec;
}

async function run(server: ModelServer, method: 'classify' | 'regress', request: ClassifyOrRegressRequest): Promise<{ spec: ModelSpecMessage; json: { results: JsonValue[] } }> {
  const { model, selector, signatureName } = readModelSpec(request.model_spec);
  const examples = examplesFromJson(inputToJson(request.input, signatureName), method);
  const sig = await resolveSignature(server, model, selector, signatureName);
  const features = featureTensors(examples, await parseSpecOf(server, model, sig));
  const inputKeys = new Set(Object.keys(sig.def.inputs ?? {}));
  for (const key of Object.keys(features)) {
    if (!inputKeys.has(key)) {
      throw new ServingError('FAILED_PRECONDITION', `signature "${sig.name}" of model ${model} version ${sig.version}: its parse spec feeds feature "${key}", but the signature has no input of that name (inputs: ${[...inputKeys].join(', ')})`);
    }
  }
  const inputs = Object.fromEntries(Object.entries(features).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data as number[] }]));
  const response = await server.predict({ model, version: sig.version, signatureName: sig.name, inputs }, { entrypoint: 'GRPC' });
  const text =
    method === 'classify' ? classifyResponseJson(response.outputs, examples.length, sig.name) : regressResponseJson(response.outputs, examples.length, sig.name);
  return { spec: writeModelSpec(model, sig.version, sig.name), json: parseJson(text) as { results: JsonValue[] } };
}

/** PredictionService.Classify → ClassificationResponse. */
export async function classify(server: ModelServer, request: ClassifyOrRegressRequest): Promise<object> {
  const { spec, json } = await run(server, 'classify', request);
  const classifications = (json.results as Array<Array<[string, number]>>).map((row) => ({ classes: row.map(([label, score]) => ({ label, score })) }));
  return { model_spec: spec, result: { classifications } };
}

/** PredictionService.Regress → RegressionResponse. */
export async function regress(server: ModelServer, request: ClassifyOrRegressRequest): Promise<object> {
  const { spec, json } = await run(server, 'regress', request);
  return { model_spec: spec, result: { regressions: (json.results as number[]).map((value) => ({ value })) } };
}
