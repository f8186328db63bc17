/**
 * The page side of the browser serving benchmark (bench/browser-serving.ts drives it with playwright).
 *
 * The page imports the built library bundle (`/lib/tfjs-serving.js`, the way an app does; its manager runs
 * in a Web Worker by default) at run time, and bundles its own copy of TF.js for the baseline: plain
 * `tf.loadGraphModel` + `model.execute` on this page's main thread, with nothing of the library in between.
 * Both sides get a fresh copy of the same input for every item and wait for every output's `.data()`.
 */
// TF.js is imported only by the baseline (plainLoad), so a page that runs the library with `worker: false`
// holds one copy of TF.js, the library's (two copies in one realm would share TF.js's global engine).
import { batchCellStats } from '../batch-stats.js';
import type { BatchCellStats, MetricsLike } from '../batch-stats.js';
import { drive, randomInput } from '../measure.js';
import type { CellOptions, CellResult } from '../measure.js';

export type { CellOptions, CellResult };

type Tf = typeof import('@tensorflow/tfjs');
let tf: Tf;
type GraphModel = import('@tensorflow/tfjs').GraphModel;

export interface ModelSpec {
  /** Model name in the repository (`/repo/<name>/manifest.json`, `/repo/<name>/1/model.json`). */
  name: string;
  /** Input tensor name as the signature knows it (library requests) — e.g. `input_1:0`. */
  inputKey: string;
  /** Shape of one item, batch dimension 1 included. */
  shape: number[];
}

interface LibServer {
  readonly backend: string;
  readonly mode: string;
  predict(request: { model: string; inputs: Record<string, { dtype: string; shape: number[]; data: Float32Array }> }): Promise<{
    outputs: Record<string, { shape: number[]; data: ArrayLike<number> }>;
  }>;
  metrics(): Promise<Record<string, { type: string; samples: Array<{ labels: Record<string, string>; count?: number; sum?: number; value?: number }> }>>;
  close(): Promise<void>;
}

interface Lib {
  ModelServer: { start(options: Record<string, unknown>): Promise<LibServer> };
}

let lib: Lib | undefined;
let server: LibServer | undefined;
let plainModel: GraphModel | undefined;
let input: Float32Array = new Float32Array(0);
let spec: ModelSpec | undefined;

async function useBackend(backend: string): Promise<void> {
  if (tf.getBackend() === backend) return;
  if (backend === 'webgpu') {
    if (!(await (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter())) {
      throw new Error('navigator.gpu.requestAdapter() found no WebGPU adapter');
    }
    await import('@tensorflow/tfjs-backend-webgpu');
  } else if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(new URL('/lib/', location.href).href); // the same binaries the library's worker uses
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend(${backend}) failed`);
  await tf.ready();
}

const bench = {
  /** Plain TF.js on this page: loads /repo/<name>/1/model.json on `backend` and warms it once. */
  async plainLoad(backend: string, model: ModelSpec): Promise<{ backend: string; inputs: string[]; outputs: string[] }> {
    tf ??= await import('@tensorflow/tfjs');
    await useBackend(backend);
    plainModel?.dispose();
    spec = model;
    input = randomInput(model.shape);
    plainModel = await tf.loadGraphModel(`/repo/${model.name}/1/model.json`);
    await bench.plainOnce();
    return { backend: tf.getBackend(), inputs: plainModel.inputs.map((i) => i.name), outputs: plainModel.outputs.map((o) => o.name) };
  },

  async plainOnce(): Promise<number[][]> {
    const m = plainModel!;
    const x = tf.tensor(input.slice(), spec!.shape, 'float32');
    const out = m.execute(x);
    const outs = Array.isArray(out) ? out : [out];
    const values = await Promise.all(outs.map((t) => t.data()));
    x.dispose();
    tf.dispose(outs);
    return values.map((v) => Array.from(v as Float32Array));
  },

  /** Hand-made batches of `b`: b copies of the input as one tensor, executed and read back, awaited one by one. */
  async handMadeCell(o: CellOptions, b: number): Promise<CellResult & { numTensors: number }> {
    const m = plainModel!; // plainLoad ran first
    const one = input;
    const batch = new Float32Array(one.length * b);
    for (let i = 0; i < b; i++) batch.set(one, i * one.length);
    const shape = [b, ...spec!.shape.slice(1)]; // spec is set by plainLoad
    const run = async () => {
      const x = tf.tensor(batch.slice(), shape, 'float32');
      const out = m.execute(x);
      const outs = Array.isArray(out) ? out : [out];
      await Promise.all(outs.map((t) => t.data()));
      x.dispose();
      tf.dispose(outs);
    };
    await run(); // this batch size's kernels compiled outside the cell
    const before = tf.memory().numTensors;
    const r = await drive(run, { ...o, concurrency: 1, itemsPerCall: b });
    return { ...r, numTensors: tf.memory().numTensors - before };
  },

  async plainCell(o: CellOptions): Promise<CellResult & { numTensors: number }> {
    const before = tf.memory().numTensors;
    const r = await drive(async () => {
      await bench.plainOnce();
    }, o);
    return { ...r, numTensors: tf.memory().numTensors - before };
  },

  /** Starts the library's ModelServer from the built bundle; resolves when the model is AVAILABLE. */
  async libStart(options: Record<string, unknown>, model: ModelSpec): Promise<{ backend: string; mode: string; startMs: number }> {
    lib ??= (await import(/* @vite-ignore */ new URL('/lib/tfjs-serving.js', location.href).href)) as Lib;
    spec = model;
    input = randomInput(model.shape);
    const t0 = performance.now();
    server = await lib.ModelServer.start({
      modelConfigList: [{ name: model.name, basePath: new URL(`/repo/${model.name}`, location.href).href }],
      pollIntervalMs: 0,
      ...options,
    });
    return { backend: server.backend, mode: server.mode, startMs: performance.now() - t0 };
  },

  async libOnce(): Promise<number[][]> {
    const r = await server!.predict({
      model: spec!.name,
      inputs: { [spec!.inputKey]: { dtype: 'float32', shape: spec!.shape, data: input.slice() } },
    });
    return Object.keys(r.outputs)
      .sort()
      .map((k) => Array.from(r.outputs[k]!.data));
  },

  async libCell(o: CellOptions): Promise<CellResult & BatchCellStats> {
    const before = (await server!.metrics()) as MetricsLike; // libStart ran first; a metrics snapshot is JSON of histograms
    const r = await drive(async () => {
      await bench.libOnce();
    }, o);
    return { ...r, ...batchCellStats(before, (await server!.metrics()) as MetricsLike) }; // as above
  },

  async libStop(): Promise<void> {
    await server?.close();
    server = undefined;
  },
};

(globalThis as unknown as { bench: typeof bench; benchReady: boolean }).bench = bench;
(globalThis as unknown as { benchReady: boolean }).benchReady = true;

export type PageBench = typeof bench;
