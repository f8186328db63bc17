// Classify and regress, whatever the front end (REST's :classify/:regress, gRPC's Classify/Regress):
// tf.Examples turned into the signature's inputs through the parse spec the runtime read at load, run
// on the version the signature came from.
import { ServingError } from '../core/status.js';
import type { TensorOutput } from '../runtime/tensor.js';
import type { GetSignatureResponse, VersionSelector } from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';
import type { ParseSpecJson } from './examples.js';
import { asParseSpec, examplesFromJson, featureTensors } from './examples.js';
import type { JsonValue } from './json.js';
import { runOnPinnedVersion } from './pinned-version.js';

/** What running examples gave: the version and signature that answered, and the outputs. */
export interface ExamplesResult {
  readonly version: number;
  readonly signatureName: string;
  readonly exampleCount: number;
  readonly outputs: Record<string, TensorOutput>;
}

/**
 * Runs a classify or regress request given as TF Serving's JSON body (`examples`, `context`,
 * `signature_name`): the examples are read first (INVALID_ARGUMENT names what is wrong), then the
 * signature is resolved once and the request pinned to its version.
 */
export async function runExamples(
  server: ModelServer,
  method: 'classify' | 'regress',
  model: string,
  selector: VersionSelector,
  body: { [key: string]: JsonValue },
  entrypoint: string,
): Promise<ExamplesResult> {
  const signatureName = typeof body.signature_name === 'string' ? body.signature_name : undefined;
  const examples = examplesFromJson(body, method);
  // Read with the signature of the version picked now, and run pinned to it (a swap in between: once more).
  return runOnPinnedVersion(server, model, selector, signatureName || undefined, ({ model: spec, signature }) => runOn(server, model, spec, signature, examples, entrypoint));
}

async function runOn(
  server: ModelServer,
  model: string,
  spec: GetSignatureResponse['model'],
  signature: GetSignatureResponse['signature'],
  examples: ReturnType<typeof examplesFromJson>,
  entrypoint: string,
): Promise<ExamplesResult> {
  const { version, signatureName: name } = spec;
  const parseSpec = checkedParseSpec(signature.parseSpec, `signature "${name}" of model ${model} version ${version}`, name);
  const features = featureTensors(examples, parseSpec);
  const inputKeys = new Set(signature.inputs.map((i) => i.key));
  for (const key of Object.keys(features)) {
    if (!inputKeys.has(key)) {
      throw new ServingError('FAILED_PRECONDITION', `signature "${name}" of model ${model} version ${version}: its parse spec feeds feature "${key}", but the signature has no input of that name (inputs: ${[...inputKeys].join(', ')})`);
    }
  }
  // Feature values are of the feature's dtype (examples.ts fills them so); TensorInput wants one element type.
  const inputs = Object.fromEntries(Object.entries(features).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data as number[] }]));
  const response = await server.predict({ model, version, signatureName: name, inputs }, { entrypoint });
  return { version, signatureName: name, exampleCount: examples.length, outputs: response.outputs };
}

/** The parse spec the converter recorded for a signature (read by the runtime at load), checked. */
function checkedParseSpec(recorded: unknown, where: string, name: string): ParseSpecJson {
  const spec = asParseSpec(recorded);
  if (!spec) {
    throw new ServingError(
      'FAILED_PRECONDITION',
      `${where} takes no tf.Example input: its model.json has no userDefinedMetadata.signatures["${name}"].parseSpec. ` +
        'Classify and regress need the parse spec the tfjs-serving converter records for signatures that parse tf.Example ' +
        '(convert the SavedModel with `tfjs-serving convert --signature_name all`); use predict for tensor inputs.',
    );
  }
  return spec;
}
