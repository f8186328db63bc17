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
/** The library's servers on this page, by name (one per configuration the driver interleaves). */
const servers = new Map<string, LibServer>();
let handWorker: Worker | undefined;

/** Posts one message to the hand-written worker and resolves with its answer (one call at a time). */
function handWorkerAnswer(message: unknown): Promise<unknown> {
  const worker = handWorker!; // handWorkerStart made it
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ kind: string; message?: string }>) => (e.data.kind === 'error' ? reject(new Error(`hand-written worker: ${e.data.message}`)) : resolve(e.data));
    worker.onerror = (e) => reject(new Error(`hand-written worker: ${e.message}`));
    worker.postMessage(message);
  });
}
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
    // The page is cross-origin isolated (a 5 µs clock): one thread, like the library (src/runtime/backends.ts).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend(${backend}) failed`);
  await tf.ready();
}

const bench = {
  /** Plain TF.js on this page: loads /repo/<name>/1/model.json on `backend` and warms it once. */
  async plainLoad(backend: string, model: ModelSpec): Promise<{ backend: string; inputs: string[]; outputs: string[]; binaries: string[] }> {
    tf ??= await import('@tensorflow/tfjs');
    await useBackend(backend);
    plainModel?.dispose();
    spec = model;
    input = randomInput(model.shape);
    plainModel = await tf.loadGraphModel(`/repo/${model.name}/1/model.json`);
    await bench.plainOnce();
    const binaries = performance.getEntriesByType('resource').map((e) => e.name.slice(e.name.lastIndexOf('/') + 1)).filter((n) => n.endsWith('.wasm'));
    return { backend: tf.getBackend(), inputs: plainModel.inputs.map((i) => i.name), outputs: plainModel.outputs.map((o) => o.name), binaries };
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

  /**
   * Plain TF.js in a hand-written worker (plain-worker.entry.ts, bundled beside this page): what a worker
   * costs without the library. Loads /repo/<name>/1/model.json there on `backend`.
   */
  async handWorkerStart(backend: string, model: ModelSpec): Promise<string> {
    bench.handWorkerStop();
    spec = model;
    input = randomInput(model.shape);
    const worker = new Worker(new URL('/bench/plain-worker.entry.js', location.href), { type: 'module' }); // bundled beside this page
    handWorker = worker;
    const answer = handWorkerAnswer({ kind: 'load', backend, model: new URL(`/repo/${model.name}/1/model.json`, location.href).href, shape: model.shape });
    const loaded = (await answer) as { backend: string }; // the worker answers a load with its backend
    await bench.handWorkerOnce();
    return loaded.backend;
  },

  handWorkerStop(): void {
    handWorker?.terminate();
    handWorker = undefined;
  },

  /** One execute in the hand-written worker: the input posted (copied), the outputs posted back (transferred). */
  async handWorkerOnce(): Promise<Float32Array[]> {
    const answer = (await handWorkerAnswer({ kind: 'run', input: input.slice() })) as { outputs: Float32Array[] }; // a run is answered with its outputs
    return answer.outputs;
  },

  /**
   * One caller's calls to `target` ('plain', 'hand' or a library server's name) for `ms`: their latencies.
   * The driver alternates short chunks of each target, so the one-caller rows share the machine's moods.
   */
  async timed(target: string, ms: number): Promise<{ latencies: number[]; elapsedMs: number }> {
    const once = async () => {
      const t0 = performance.now();
      if (target === 'plain') await bench.plainOnce();
      else if (target === 'hand') await bench.handWorkerOnce();
      else await bench.libOnce(target);
      return performance.now() - t0;
    };
    const latencies: number[] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < ms) latencies.push(await once());
    return { latencies, elapsedMs: performance.now() - t0 };
  },

  /** Starts the library's ModelServer `name` from the built bundle; resolves when the model is AVAILABLE. */
  async libStart(options: Record<string, unknown>, model: ModelSpec, name = 'main'): Promise<{ backend: string; mode: string; startMs: number }> {
    lib ??= (await import(/* @vite-ignore */ new URL('/lib/tfjs-serving.js', location.href).href)) as Lib;
    spec = model;
    input = randomInput(model.shape);
    const t0 = performance.now();
    const server = await lib.ModelServer.start({
      modelConfigList: [{ name: model.name, basePath: new URL(`/repo/${model.name}`, location.href).href }],
      pollIntervalMs: 0,
      ...options,
    });
    servers.set(name, server);
    return { backend: server.backend, mode: server.mode, startMs: performance.now() - t0 };
  },

  async libOnce(name = 'main'): Promise<number[][]> {
    const r = await servers.get(name)!.predict({ // libStart ran first
      model: spec!.name,
      inputs: { [spec!.inputKey]: { dtype: 'float32', shape: spec!.shape, data: input.slice() } },
    });
    return Object.keys(r.outputs)
      .sort()
      .map((k) => Array.from(r.outputs[k]!.data));
  },

  /** A snapshot of server `name`'s metrics (JSON of histograms). */
  async libMetrics(name = 'main'): Promise<MetricsLike> {
    return (await servers.get(name)!.metrics()) as MetricsLike; // libStart ran first; a metrics snapshot is JSON of histograms
  },

  async libCell(o: CellOptions, name = 'main'): Promise<CellResult & BatchCellStats> {
    const before = await bench.libMetrics(name);
    const r = await drive(async () => {
      await bench.libOnce(name);
    }, o);
    return { ...r, ...batchCellStats(before, await bench.libMetrics(name)) };
  },

  async libStop(name = 'main'): Promise<void> {
    await servers.get(name)?.close();
    servers.delete(name);
  },
};

(globalThis as unknown as { bench: typeof bench; benchReady: boolean }).bench = bench;
(globalThis as unknown as { benchReady: boolean }).benchReady = true;

export type PageBench = typeof bench;
