/** Shared helpers for the converter tests (fixtures live in test/fixtures/savedmodels). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { artifactsOf, convertSavedModel, executeModel, loadGraphModelFromResult, type ConvertOptions, type ConversionResult } from '../../converter/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'savedmodels');
export const fixture = (...parts: string[]): string => join(FIXTURES, ...parts);
export const TFS = (name: string, version = '00000123'): string => fixture('tfserving', name, version);
export const TFJS = (name: string): string => fixture('tfjs', name);

let backendReady: Promise<void> | undefined;
export function cpuBackend(): Promise<void> {
  backendReady ??= (async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    // Quieten TF.js's "use tfjs-node" banner and execute() hints.
    tf.env().set('IS_TEST', true);
  })();
  return backendReady;
}

export async function convert(dir: string, opts: ConvertOptions = {}): Promise<ConversionResult> {
  await cpuBackend();
  return convertSavedModel(dir, opts);
}

/** Loads a conversion result with the stock loader (tf.io.fromMemory + tf.loadGraphModel). */
export async function load(r: ConversionResult): Promise<tf.GraphModel> {
  await cpuBackend();
  return tf.loadGraphModel(tf.io.fromMemory(artifactsOf(r)));
}

export { loadGraphModelFromResult };

/** Runs `model` on `feeds` (by signature key or tensor name); returns plain arrays and disposes everything. */
export async function run(
  model: tf.GraphModel,
  feeds: Record<string, [number[] | string[], number[], tf.DataType?]>,
  outputs?: string[],
): Promise<{ shape: number[]; dtype: string; values: number[] }[]> {
  const inputs: tf.NamedTensorMap = {};
  for (const [k, [v, shape, dtype]] of Object.entries(feeds)) inputs[k] = tf.tensor(v as number[], shape, dtype);
  try {
    const names = outputs ?? model.outputs.map((o) => o.name);
    const out = await executeModel(model, inputs, names);
    const arr = Array.isArray(out) ? out : [out];
    const res = arr.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype, values: Array.from(t.dataSync() as Float32Array) }));
    tf.dispose(arr);
    return res;
  } finally {
    tf.dispose(Object.values(inputs));
  }
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'values'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`${what}[${i}]: ${a} differs from expected ${e} by more than ${tol}`);
    }
  }
}

export function numTensors(): number {
  return tf.memory().numTensors;
}
