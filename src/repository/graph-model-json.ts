import type * as tf from '@tensorflow/tfjs';
import { ServingError } from '../core/status.js';

/** The graph model's entry file inside a version directory. */
export const MODEL_JSON = 'model.json';
/** File in a version's directory with the requests to replay before the version becomes AVAILABLE. */
export const WARMUP_FILE = 'warmup.json';

/** What a graph model's `model.json` holds (the parts this runtime reads). */
export interface GraphModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology?: { node?: unknown[]; versions?: Record<string, unknown>; library?: unknown };
  weightsManifest?: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
  initializerSignature?: unknown;
}

/** Parses and checks model.json; INVALID_ARGUMENT / FAILED_PRECONDITION say what is wrong with it. */
export function parseGraphModelJson(bytes: Uint8Array, where: string): GraphModelJson {
  let json: GraphModelJson;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as GraphModelJson;
  } catch (e) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: model.json is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null) throw new ServingError('INVALID_ARGUMENT', `${where}: model.json is not a JSON object`);
  if (json.format === 'layers-model' || (json.modelTopology as { class_name?: unknown } | undefined)?.class_name) {
    throw new ServingError('FAILED_PRECONDITION', `${where}: model.json is a Keras layers model; tfjs-serving serves TF.js graph models (format "graph-model")`);
  }
  if (!json.modelTopology || !Array.isArray(json.modelTopology.node)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: model.json has no modelTopology.node list; expected a TF.js graph model`);
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new ServingError('INVALID_ARGUMENT', `${where}: model.json has no weightsManifest list`);
  }
  for (const [i, g] of json.weightsManifest.entries()) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new ServingError('INVALID_ARGUMENT', `${where}: weightsManifest[${i}] must have "paths" and "weights" lists`);
    }
  }
  return json;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, int8: 1, int16: 2, complex64: 8 };

/** Bytes the weight specs need, or undefined when a string weight makes it data-dependent. */
export function expectedWeightBytes(specs: readonly tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const s of specs) {
    if (s.dtype === 'string') return undefined;
    const dtype = s.quantization?.dtype ?? s.dtype;
    const per = BYTES[dtype];
    if (per === undefined) return undefined;
    total += per * s.shape.reduce((a, b) => a * b, 1);
  }
  return total;
}
