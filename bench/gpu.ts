/**
 * Node serving benchmark on TF.js's `webgpu` backend through Dawn (the npm package `webgpu`, the WebGPU
 * engine inside Chrome): the library's LocalModelServer with batching on (per maxBatchSize, 2 batches in
 * flight) and off against plain TF.js `model.execute` (naive callers: one execute per item; same realm,
 * same backend, same input, every output's `.data()` awaited) and against hand-made batches of B (B
 * items as one tensor, awaited one by one, B = maxBatchSize), at 1, 32 and 64 closed-loop callers; the
 * ratios against plain and hand-made rows and issue 11's goals table are printed; the JSON has each
 * batching cell's phases (queue wait, concat, execute, readback, split).
 *
 *   node --import tsx bench/gpu.ts [--backend webgpu|wasm|cpu] [--models emotion,facemesh] [--quick]
 *        [--seconds 4] [--warmup 1] [--concurrency 1,32,64] [--max-batch-sizes 32,64] [--threads 2]
 *        [--json FILE] [--models-dir DIR]
 *
 * No WebGPU adapter (a machine without a GPU or without Vulkan): prints a SKIP line and exits 0. A CPU
 * (fallback) adapter, if Dawn offers one, is used and labelled as such. `--backend wasm` runs the same
 * comparison on the wasm backend (a check of this script on any machine).
 *
 * On a GPU machine (no Node, no npm, no network) it runs from a carry made by bench/pack-gpu.sh, which
 * bundles it with ../shared/gpu/make-carry.sh and puts the model files beside it (`bench-models/`, and the
 * wasm binaries in `wasm/`); the results land in `$OUT/gpu-bench.json`. With no arguments it runs the
 * whole comparison (emotion and facemesh, 3 s cells: about 2–3 minutes on the H200).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { batchCellStats } from './batch-stats.js';
import type { MetricsLike } from './batch-stats.js';
import { HUMAN_MODELS_DIR, MODELS, addRatios, drive, layOutModels, overheadRows, overheadTable, servingTable } from './common.js';
import type { BenchModel, CellOptions, OverheadRow, ServingRow } from './common.js';
import { maxAbsDiff as outputsDiff, randomInput } from './measure.js';
import { addHandMadeRatios, batchedVariant, batchingFor, goalRows, goalsTable, handMadeVariant } from './ratios.js';
import type { GoalRow } from './ratios.js';

export interface GpuBenchResult {
  status: 'ok' | 'skipped';
  reason?: string;
  backend: string;
  backendLabel: string;
  adapter?: Record<string, unknown>;
  rows: ServingRow[];
  overhead: OverheadRow[];
  /** Issue 11's ratios per model and maxBatchSize. */
  goals: GoalRow[];
  /** "Batching on" parameters per maxBatchSize. */
  batchingParameters?: Record<string, unknown>;
  maxAbsDiff: Record<string, number>;
  notes: string[];
}

export const PLAIN_NODE = 'plain TF.js execute (Node)';
export const LIB_NODE = 'library, local';
export const LIB_NODE_BATCHED = batchedVariant(LIB_NODE, 32);
export const LIB_NODE_UNBATCHED = 'library, local, batching off';

interface Args {
  backend: 'webgpu' | 'wasm' | 'cpu';
  models: BenchModel[];
  seconds: number;
  warmup: number;
  concurrency: number[];
  maxBatchSizes: number[];
  threads: number;
  json?: string;
  modelsDir?: string;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const backend = (get('backend') ?? 'webgpu') as Args['backend'];
  if (!['webgpu', 'wasm', 'cpu'].includes(backend)) throw new Error(`--backend must be webgpu, wasm or cpu, got ${backend}`);
  const models = (get('models') ?? 'emotion,facemesh').split(',').map((n) => {
    const m = MODELS[n as BenchModel['name']];
    if (!m) throw new Error(`unknown model ${n}; known: ${Object.keys(MODELS).join(', ')}`);
    return m;
  });
  const out = process.env.OUT;
  const quick = argv.includes('--quick');
  return {
    backend,
    models,
    seconds: Number(get('seconds') ?? (quick ? 1 : 3)),
    warmup: Number(get('warmup') ?? (quick ? 0.3 : 1)),
    concurrency: (get('concurrency') ?? '1,32,64').split(',').map(Number),
    maxBatchSizes: (get('max-batch-sizes') ?? '32,64').split(',').map(Number),
    threads: Number(get('threads') ?? 2),
    json: get('json') ?? (out ? join(out, 'gpu-bench.json') : undefined),
    modelsDir: get('models-dir'),
  };
}

/** Where the model files are: --models-dir, the carry's bench-models/ beside the bundle, or the npm package. */
function modelsSource(args: Args): string {
  if (args.modelsDir) return args.modelsDir;
  const here = dirname(fileURLToPath(import.meta.url));
  for (const d of [join(here, 'bench-models'), HUMAN_MODELS_DIR]) if (existsSync(d)) return d;
  throw new Error(`no model files: pass --models-dir (looked in ${join(here, 'bench-models')} and ${HUMAN_MODELS_DIR})`);
}

/**
 * Installs `navigator.gpu` from Dawn and asks for an adapter: the real one, or else a fallback (CPU) one.
 * Returns undefined with the reason when there is none.
 */
async function installWebGpu(): Promise<{ adapter: Record<string, unknown>; label: string } | { reason: string }> {
  let webgpu: { create(flags: string[]): { requestAdapter(o?: { forceFallbackAdapter?: boolean }): Promise<unknown> }; globals: object };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    return { reason: `the npm package webgpu is not installed (${(e as Error).message.split('\n')[0]}); npm install --save-dev webgpu` };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  const g = globalThis as unknown as { navigator?: object };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator!, 'gpu', { value: gpu, configurable: true });
  type Adapter = { info?: Record<string, unknown>; isFallbackAdapter?: boolean };
  let adapter = (await gpu.requestAdapter()) as Adapter | null;
  let fallback = false;
  if (!adapter) {
    adapter = (await gpu.requestAdapter({ forceFallbackAdapter: true })) as Adapter | null;
    fallback = !!adapter;
  }
  if (!adapter) return { reason: 'Dawn found no WebGPU adapter (no GPU, or no Vulkan loader/driver on this machine)' };
  const info: Record<string, unknown> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description', 'type', 'backend', 'isFallbackAdapter']) {
    const v = (adapter.info as Record<string, unknown> | undefined)?.[k];
    if (v !== undefined && v !== '') info[k] = v;
  }
  const cpu = fallback || adapter.isFallbackAdapter === true || info.isFallbackAdapter === true || /cpu|swiftshader|llvmpipe|lavapipe/i.test(JSON.stringify(info));
  const name = [info.vendor, info.architecture, info.description ?? info.device].filter(Boolean).join(' ') || 'unknown adapter';
  return { adapter: info, label: cpu ? `webgpu (Dawn, CPU adapter ${name}: emulation, relative only)` : `webgpu (Dawn, ${name})` };
}

type Tf = typeof import('@tensorflow/tfjs');

/** Plain TF.js: the model.json and its weights read from disk into tf.loadGraphModel. */
async function loadPlain(tf: Tf, dir: string) {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
    signature?: object;
    userDefinedMetadata?: object;
  };
  const buffers: Uint8Array[] = [];
  for (const g of json.weightsManifest) for (const p of g.paths) buffers.push(new Uint8Array(await readFile(join(dir, p))));
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    weightData.set(b, at);
    at += b.byteLength;
  }
  return tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: weightData.buffer,
      ...(json.format ? { format: json.format } : {}),
      ...(json.signature ? { signature: json.signature } : {}),
      ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata as Record<string, {}> } : {}),
    }),
  });
}

export async function runGpuBench(argv: string[]): Promise<GpuBenchResult> {
  const args = parseArgs(argv);
  const notes: string[] = [];
  let label = args.backend === 'wasm' ? 'wasm (Node, SIMD, 1 thread)' : args.backend;
  let adapter: Record<string, unknown> | undefined;
  if (args.backend === 'webgpu') {
    const got = await installWebGpu();
    if ('reason' in got) return { status: 'skipped', reason: got.reason, backend: 'webgpu', backendLabel: 'webgpu (Dawn)', rows: [], overhead: [], goals: [], maxAbsDiff: {}, notes };
    adapter = got.adapter;
    label = got.label;
  }
  const tf = await import('@tensorflow/tfjs');
  // The webgpu backend registers itself only if navigator.gpu exists when it is imported: import it now.
  if (args.backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (args.backend === 'wasm') {
    // Bundled by bench/pack-gpu.sh (one ESM file): the wasm backend's emscripten loader reads the
    // CommonJS globals __dirname/__filename, which an ES module lacks; the .wasm binaries travel beside
    // the bundle (wasm/).
    const here = dirname(fileURLToPath(import.meta.url));
    const g = globalThis as { __dirname?: string; __filename?: string };
    g.__dirname ??= here;
    g.__filename ??= fileURLToPath(import.meta.url);
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const carried = join(here, 'wasm');
    if (existsSync(join(carried, 'tfjs-backend-wasm-simd.wasm'))) wasm.setWasmPaths(`${carried}/`);
  }
  if (!(await tf.setBackend(args.backend))) {
    return { status: 'skipped', reason: `tf.setBackend('${args.backend}') failed`, backend: args.backend, backendLabel: label, rows: [], overhead: [], goals: [], maxAbsDiff: {}, notes };
  }
  await tf.ready();
  tf.env().set('IS_TEST', true); // no "use tfjs-node" banner
  const { LocalModelServer } = await import('../src/node.js');

  const root = await layOutModels(args.models, modelsSource(args));
  const rows: ServingRow[] = [];
  const maxAbsDiff: Record<string, number> = {};
  // Between calls, outside the timed part: in Node, awaited wasm/cpu predictions never leave the
  // microtask queue, which would starve timers (the batch timeout) and I/O.
  const pause = () => new Promise<void>((r) => setImmediate(r));
  try {
    for (const m of args.models) {
      const input = randomInput(m.shape);
      const cellOpts = (concurrency: number, itemsPerCall = 1): CellOptions => ({ concurrency, warmupMs: args.warmup * 1000, durationMs: args.seconds * 1000, itemsPerCall });
      const push = (variant: string, cell: ServingRow['cell']) => {
        rows.push({ where: 'node', backend: args.backend, backendLabel: label, model: m.name, variant, cell });
        const ph = cell.phaseMeanMicros ? `, µs ${Object.entries(cell.phaseMeanMicros).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(' ')}` : '';
        process.stderr.write(`[gpu] ${m.name} ${variant} ×${cell.concurrency}: ${cell.itemsPerSec.toFixed(1)} items/s, p50 ${cell.p50Ms.toFixed(2)} ms, p99 ${cell.p99Ms.toFixed(2)} ms${cell.meanBatchSize ? `, mean batch ${cell.meanBatchSize.toFixed(1)}` : ''}${ph}\n`);
      };

      // Plain TF.js: naive callers, one execute per item; and hand-made batches of B, awaited one by one.
      const model = await loadPlain(tf, join(root, m.name, '1'));
      const plainRun = async (values: Float32Array, shape: number[]) => {
        const x = tf.tensor(values, shape, 'float32');
        const out = model.execute(x);
        const outs = Array.isArray(out) ? out : [out];
        const read = await Promise.all(outs.map((t) => t.data()));
        x.dispose();
        tf.dispose(outs);
        return read;
      };
      const plainOut = (await plainRun(input.slice(), m.shape)).map((v) => Array.from(v as Float32Array));
      for (const c of args.concurrency) push(PLAIN_NODE, await drive(async () => void (await plainRun(input.slice(), m.shape)), cellOpts(c), pause));
      for (const b of args.maxBatchSizes) {
        const batch = new Float32Array(input.length * b);
        for (let i = 0; i < b; i++) batch.set(input, i * input.length);
        const shape = [b, ...m.shape.slice(1)];
        await plainRun(batch.slice(), shape); // compile this batch size's kernels outside the cell
        push(handMadeVariant(b), await drive(async () => void (await plainRun(batch.slice(), shape)), cellOpts(1, b), pause));
      }
      model.dispose();

      // The library (LocalModelServer): batching on per maxBatchSize, then off.
      for (const b of [...args.maxBatchSizes, 0]) {
        const server = await LocalModelServer.start({
          modelConfigList: [{ name: m.name, basePath: join(root, m.name) }],
          backends: [args.backend],
          pollIntervalMs: 0,
          ...(b > 0 ? { enableBatching: true, batchingParameters: batchingFor(b, args.threads) } : {}),
        });
        try {
          if (server.backend !== args.backend) throw new Error(`the library runs on ${server.backend}, not ${args.backend}`);
          const libOnce = async () => {
            const r = await server.predict({ model: m.name, inputs: { [m.inputKey]: { dtype: 'float32', shape: m.shape, data: input.slice() } } });
            return Object.values(r.outputs).map((o) => Array.from(o.data as Float32Array));
          };
          maxAbsDiff[`${m.name}${b > 0 ? `/batching ${b}` : ''}`] = outputsDiff(plainOut, await libOnce());
          for (const c of args.concurrency) {
            const before = (await server.metrics()) as unknown as MetricsLike; // a metrics snapshot: JSON of histograms
            const cell = await drive(async () => void (await libOnce()), cellOpts(c), pause);
            Object.assign(cell, batchCellStats(before, (await server.metrics()) as unknown as MetricsLike)); // as above
            push(b > 0 ? batchedVariant(LIB_NODE, b) : LIB_NODE_UNBATCHED, cell);
          }
        } finally {
          await server.close();
        }
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  addRatios(rows, PLAIN_NODE);
  addHandMadeRatios(rows, LIB_NODE, args.maxBatchSizes);
  const goals = goalRows(rows, LIB_NODE, PLAIN_NODE, args.maxBatchSizes);
  const overhead = overheadRows(rows, PLAIN_NODE, [LIB_NODE_UNBATCHED, ...args.maxBatchSizes.map((b) => batchedVariant(LIB_NODE, b))]);
  const batchingParameters = Object.fromEntries(args.maxBatchSizes.map((b) => [String(b), batchingFor(b, args.threads)]));
  return { status: 'ok', backend: args.backend, backendLabel: label, ...(adapter ? { adapter } : {}), rows, overhead, goals, batchingParameters, maxAbsDiff, notes };
}

export function printGpuResult(r: GpuBenchResult): void {
  if (r.status === 'skipped') {
    console.log(`SKIP node ${r.backend} benchmark: ${r.reason}`);
    return;
  }
  console.log(`\nNode serving on ${r.backendLabel}${r.adapter ? ` — adapter ${JSON.stringify(r.adapter)}` : ''}`);
  console.log(servingTable(r.rows));
  console.log(`\nIssue 11's goals, ratios within this run (batching on: ${JSON.stringify(r.batchingParameters)}):`);
  console.log(goalsTable(r.goals ?? []));
  console.log(`\nLibrary round trip at batch 1, one caller (Node, no worker):`);
  console.log(overheadTable(r.overhead));
  console.log(`library vs plain outputs, max |diff|: ${JSON.stringify(r.maxAbsDiff)}`);
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (process.argv[1].startsWith('file:') ? fileURLToPath(process.argv[1]) : process.argv[1]);
  } catch {
    return false;
  }
})();

if (isMain || /bench\.mjs$/.test(process.argv[1] ?? '')) {
  const argv = process.argv.slice(2);
  runGpuBench(argv)
    .then(async (r) => {
      printGpuResult(r);
      const json = parseArgs(argv).json;
      if (json) {
        await mkdir(dirname(json), { recursive: true });
        await writeFile(json, JSON.stringify({ ...r, measuredAt: new Date().toISOString(), node: process.version, platform: `${process.platform}-${process.arch}` }, null, 2));
      }
      process.exit(0); // Dawn keeps the process alive
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
