/**
 * Browser serving benchmark: headless Debian Chromium (the test harness's launchBrowser), one page that
 * imports the built bundle dist/browser/tfjs-serving.js (the library, manager in a Web Worker) and, for the
 * baseline, plain TF.js bundled into the page. Per backend and model: items/s and p50/p99 latency at each
 * concurrency for (a) the library with batching on, (b) the library with batching off, (c) plain
 * `tf.loadGraphModel` + `model.execute` in the page; plus the library with `worker: false` at one caller,
 * which splits the worker round trip from the library's own cost; and hand-made batches of B (B items as
 * one tensor in the page, awaited one by one) for each maxBatchSize B the library's batching runs at.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { publishGraphModel } from '../src/repository/publish.js';
import { buildBrowserBundle, launchBrowser, startStaticServer } from '../test/browser/harness.js';
import { BUNDLE_DIR, ensureLibraryBundle } from '../test/browser/library-page.js';
import type { PageBench } from './browser/bench-page.entry.js';
import { HUMAN_MODELS_DIR, log } from './common.js';
import { batchedVariant, batchingFor, handMadeVariant } from './ratios.js';
import { cellOf, maxAbsDiff as outputsDiff } from './measure.js';
import { batchCellStats } from './batch-stats.js';
import type { BatchCellStats, MetricsLike } from './batch-stats.js';
import type { BenchModel, CellOptions, CellResult, ServingRow } from './common.js';

export type BrowserBackend = 'wasm' | 'webgpu';

export interface BrowserServingOptions {
  backends: readonly BrowserBackend[];
  models: readonly BenchModel[];
  /** Models for the webgpu backend (SwiftShader is ~100× slower than wasm here, so fewer). Default `models`. */
  webgpuModels?: readonly BenchModel[];
  concurrencies: readonly number[];
  /** maxBatchSize of each "batching on" row (and hand-made batch size); default [32, 64]. */
  maxBatchSizes?: readonly number[];
  /** Override of the "batching on" parameters of every maxBatchSize (e.g. batchTimeoutMicros). */
  batchingOverride?: Record<string, unknown>;
  /** wasm: also the library with this many inference workers, batching off (1 leaves it out). Default 2. */
  inferenceWorkers?: number;
  warmupMs: number;
  durationMs: number;
}

export interface BrowserServingResult {
  rows: ServingRow[];
  /** Per backend: what the page reported (browser version, adapter), or why the backend was skipped. */
  notes: string[];
  /** Largest |library − plain| over the outputs of one item, per backend/model (a sanity check). */
  maxAbsDiff: Record<string, number>;
  /** Batch 1, one caller, per backend/model: what the worker adds (page ↔ worker) at p50. */
  workerRoundTrip: WorkerRoundTrip[];
}

/**
 * The worker round trip at batch 1, one caller, measured in one page (the one without plain TF.js), in
 * turns: the library in a worker, the library with worker: false, and plain TF.js in a hand-written worker
 * (what a worker costs without the library).
 */
export interface WorkerRoundTrip {
  backend: string;
  model: string;
  /** p50 ms: library in a worker (batching off), library with worker: false, plain TF.js in a hand-written worker. */
  workerP50Ms: number;
  localP50Ms: number;
  handP50Ms: number;
  /** worker − worker: false: the round trip (goal ≤ 0.3 ms). */
  roundTripMs: number;
  /** hand-written worker − worker: false: what any worker adds on this machine (the library's own in-page cost included). */
  handRoundTripMs: number;
  /** worker − hand-written worker: the library's own share of its round trip. */
  ownMs: number;
  /** The cells themselves. */
  cells: { worker: CellResult; local: CellResult; hand: CellResult };
}

export const PLAIN = 'plain TF.js execute (page)';
export const LIB_WORKER = 'library, worker';
export const LIB_BATCHED = batchedVariant(LIB_WORKER, 32);
export const LIB_UNBATCHED = 'library, worker, batching off';
export const LIB_LOCAL = 'library, worker: false, batching off';
export const libPool = (n: number): string => `library, ${n} inference workers, batching off`;

export function backendLabel(backend: string): string {
  return backend === 'webgpu' ? 'webgpu (SwiftShader = CPU emulation; relative only)' : backend === 'wasm' ? 'wasm (SIMD, 1 thread)' : backend;
}

type Bench = PageBench;

async function call<K extends keyof Bench>(page: Page, name: K, ...args: Parameters<Bench[K]>): Promise<Awaited<ReturnType<Bench[K]>>> {
  return page.evaluate(
    ([n, a]) => {
      const b = (globalThis as unknown as { bench: Record<string, (...x: unknown[]) => unknown> }).bench;
      return b[n as string]!(...(a as unknown[]));
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Bench[K]>>>;
}

export async function runBrowserServing(o: BrowserServingOptions): Promise<BrowserServingResult> {
  // A private copy of the bundle: another process (npm test, a build) may rebuild dist/browser meanwhile.
  const libDir = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-lib-'));
  for (let attempt = 1; ; attempt++) {
    await ensureLibraryBundle();
    await cp(BUNDLE_DIR, libDir, { recursive: true, filter: (src) => !src.endsWith('.map') }).catch(() => undefined);
    if (['tfjs-serving.js', 'tfjs-serving.worker.js'].every((f) => existsSync(join(libDir, f)))) break;
    if (attempt === 5) throw new Error(`${BUNDLE_DIR} stayed incomplete (a build running elsewhere?)`);
    await rm(libDir, { recursive: true, force: true });
    await mkdir(libDir, { recursive: true });
    await new Promise((r) => setTimeout(r, 5000));
  }
  const bundleDir = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-page-'));
  const repoDir = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-repo-'));
  const rows: ServingRow[] = [];
  const sizes = o.maxBatchSizes ?? [32, 64];
  const notes: string[] = [];
  const maxAbsDiff: Record<string, number> = {};
  const workerRoundTrip: WorkerRoundTrip[] = [];
  try {
    const t0 = Date.now();
    // An explicit outDir: the harness's on-disk cache keys on src/ and test/, not bench/.
    const bundle = await buildBrowserBundle(['bench/browser/bench-page.entry.ts', 'bench/browser/plain-worker.entry.ts'], bundleDir);
    log(`built the bench page in ${Date.now() - t0} ms`);
    const all = [...new Set([...o.models, ...(o.webgpuModels ?? [])])];
    for (const m of all) await publishGraphModel(join(HUMAN_MODELS_DIR, `${m.name}.json`), join(repoDir, m.name), { version: 1 });
    const html = '<!doctype html>\n<meta charset="utf-8">\n<title>tfjs-serving bench</title>\n<script type="module" src="/bench/bench-page.entry.js"></script>\n';
    // Cross-origin isolated: the page's clock then ticks in 5 µs, not 100 µs (both TF.js copies stay on one wasm thread).
    const server = await startStaticServer({ crossOriginIsolated: true, mounts: { '/lib/': libDir, '/repo/': repoDir, '/bench/': bundle.dir }, routes: { '/index.html': { body: html, type: 'text/html; charset=utf-8' } } });
    try {
      for (const backend of o.backends) {
        const browser = await launchBrowser({ webgpu: backend === 'webgpu' });
        const label = backendLabel(backend);
        const pageLogs: string[] = [];
        const open = async () => {
          const page = await browser.context.newPage();
          page.on('console', (msg) => {
            if (msg.type() === 'error') pageLogs.push(msg.text());
          });
          page.on('pageerror', (e) => pageLogs.push(e.message));
          await page.goto(`${server.origin}/index.html`);
          await page.waitForFunction(() => (globalThis as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 30_000 });
          return page;
        };
        try {
          const version = browser.context.browser()?.version() ?? '?';
          const page = await open();
          notes.push(`${backend}: Chromium ${version}, headless${backend === 'webgpu' ? ', WebGPU through SwiftShader (Vulkan on the CPU)' : ''}`);
          for (const m of backend === 'webgpu' ? (o.webgpuModels ?? o.models) : o.models) {
            const spec = { name: m.name, inputKey: m.inputKey, shape: m.shape };
            const cellOpts = (concurrency: number): CellOptions => ({ concurrency, warmupMs: o.warmupMs, durationMs: o.durationMs });
            const push = (variant: string, cell: CellResult) => {
              rows.push({ where: 'browser', backend, backendLabel: label, model: m.name, variant, cell });
              log(`${backend} ${m.name} ${variant} ×${cell.concurrency}: ${cell.itemsPerSec.toFixed(1)} items/s, p50 ${cell.p50Ms.toFixed(2)} ms, p99 ${cell.p99Ms.toFixed(2)} ms${cell.meanBatchSize ? `, mean batch ${cell.meanBatchSize.toFixed(1)}` : ''}`);
            };
            const many = o.concurrencies.filter((c) => c > 1);
            const local = o.concurrencies.includes(1) ? await open() : undefined;
            try {
              // (c) plain TF.js in the page.
              const loaded = await call(page, 'plainLoad', backend, spec);
              if (loaded.backend !== backend) throw new Error(`plain TF.js runs on ${loaded.backend}, not ${backend}`);
              if (loaded.binaries.length > 0) log(`plain TF.js on ${backend}: ${loaded.binaries.join(', ')}`);
              const plainOut = await call(page, 'plainOnce');
              // Warm: V8 tiers the wasm up while it runs.
              await call(page, 'timed', 'plain', 1500);
              // Hand-made batches of B in the page (first: their big allocations also warm the page's heap for plain's many callers).
              for (const b of sizes) push(handMadeVariant(b), await call(page, 'handMadeCell', cellOpts(1), b));
              for (const c of many) push(PLAIN, await call(page, 'plainCell', cellOpts(c)));

              // The library's servers, each kept until the one-caller cells below: (a) batching on per
              // maxBatchSize, (b) batching off, (d) wasm: predictions spread over several inference workers.
              const configs: Array<{ name: string; variant: string; options: Record<string, unknown> }> = [
                ...sizes.map((b) => ({ name: `on${b}`, variant: batchedVariant(LIB_WORKER, b), options: { enableBatching: true, batchingParameters: { ...batchingFor(b), ...(o.batchingOverride ?? {}) } } })),
                { name: 'off', variant: LIB_UNBATCHED, options: {} },
              ];
              const pool = o.inferenceWorkers ?? 2;
              if (backend === 'wasm' && pool > 1) configs.push({ name: 'pool', variant: libPool(pool), options: { inferenceWorkers: pool } });
              for (const { name, variant, options } of configs) {
                const started = await call(page, 'libStart', { backends: [backend], ...options }, spec, name);
                if (started.backend !== backend || started.mode !== 'worker') throw new Error(`library runs ${started.mode} on ${started.backend}`);
                if (name.startsWith('on')) maxAbsDiff[`${backend}/${m.name}/batching ${name.slice(2)}`] = outputsDiff(plainOut, await call(page, 'libOnce', name));
                for (const c of many) push(variant, await call(page, 'libCell', cellOpts(c), name));
              }

              if (local) {
                // One caller: every target in turn, in short chunks, so the rows share the machine's moods.
                // The second page (no plain TF.js) holds the worker: false server, and for the worker round
                // trip in one page, a worker server and plain TF.js in a hand-written worker.
                const started = await call(local, 'libStart', { backends: [backend], worker: false }, spec);
                if (started.mode !== 'local') throw new Error(`worker: false gave a ${started.mode} server`);
                await call(local, 'libStart', { backends: [backend] }, spec, 'worker');
                const handBackend = await call(local, 'handWorkerStart', backend, spec);
                if (handBackend !== backend) throw new Error(`the hand-written worker runs on ${handBackend}, not ${backend}`);
                const targets = [
                  { variant: PLAIN, page, target: 'plain' },
                  ...configs.map((c) => ({ variant: c.variant, page, target: c.name })),
                  { variant: LIB_LOCAL, page: local, target: 'main' },
                  { variant: '', page: local, target: 'worker' },
                  { variant: '', page: local, target: 'hand' },
                ];
                const ones = await interleaved(targets, o);
                const oneCell = (target: string) => [...ones].find(([t]) => t.target === target && t.page === local)![1]; // each is a target above
                for (const t of targets) if (t.variant) push(t.variant, ones.get(t)!); // every target has its cell
                const trip = roundTripOf(backend, m.name, oneCell('worker'), oneCell('main'), oneCell('hand'));
                workerRoundTrip.push(trip);
                log(`${backend} ${m.name} worker round trip ×1 (one page): worker p50 ${trip.workerP50Ms.toFixed(3)} ms − worker: false ${trip.localP50Ms.toFixed(3)} ms = ${trip.roundTripMs.toFixed(3)} ms; plain TF.js in a hand-written worker ${trip.handP50Ms.toFixed(3)} ms: the library's own ${trip.ownMs.toFixed(3)} ms`);
                await call(local, 'handWorkerStop');
                await call(local, 'libStop', 'worker');
                await call(local, 'libStop');
              }
              for (const { name } of configs) await call(page, 'libStop', name);
              // The one-caller rows were measured last: back in the order of the table.
              const order = [PLAIN, ...sizes.map(handMadeVariant), ...configs.map((c) => c.variant), LIB_LOCAL];
              const mine = rows.filter((r) => r.backend === backend && r.model === m.name);
              mine.sort((x, y) => order.indexOf(x.variant) - order.indexOf(y.variant) || x.cell.concurrency - y.cell.concurrency);
              rows.splice(rows.length - mine.length, mine.length, ...mine);
            } catch (e) {
              const why = `${backend}/${m.name} skipped: ${(e as Error).message.split('\n')[0]}${pageLogs.length ? ` (page: ${pageLogs.slice(-3).join(' | ')})` : ''}`;
              notes.push(why);
              log(why);
            } finally {
              await local?.close();
            }
          }
        } finally {
          await browser.close();
        }
      }
    } finally {
      await server.close();
    }
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
    await rm(libDir, { recursive: true, force: true });
    await rm(repoDir, { recursive: true, force: true });
  }
  return { rows, notes, maxAbsDiff, workerRoundTrip };
}

interface Target {
  page: Page;
  /** 'plain', 'hand' (the hand-written worker) or the name of a library server on `page`. */
  target: string;
}

/**
 * One caller, every target in turn on the same machine moment: a warm-up chunk each, then rounds of
 * 250 ms chunks (the order rotated each round) until each had `durationMs`. A library server's cell
 * gets its batch statistics from its metrics around the whole run.
 */
async function interleaved<T extends Target>(targets: readonly T[], o: BrowserServingOptions): Promise<Map<T, CellResult & BatchCellStats>> {
  const chunkMs = Math.min(250, o.durationMs);
  const rounds = Math.max(1, Math.round(o.durationMs / chunkMs));
  const isLib = (t: T) => t.target !== 'plain' && t.target !== 'hand';
  for (const t of targets) await call(t.page, 'timed', t.target, o.warmupMs);
  const before = new Map<T, MetricsLike>();
  for (const t of targets.filter(isLib)) before.set(t, await call(t.page, 'libMetrics', t.target));
  const runs = new Map<T, { latencies: number[]; elapsedMs: number }>(targets.map((t) => [t, { latencies: [], elapsedMs: 0 }]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const t = targets[(i + r) % targets.length]!; // an index within the list
      const chunk = await call(t.page, 'timed', t.target, chunkMs);
      const run = runs.get(t)!; // every target has one
      run.latencies.push(...chunk.latencies);
      run.elapsedMs += chunk.elapsedMs;
    }
  }
  const out = new Map<T, CellResult & BatchCellStats>();
  for (const t of targets) {
    const { latencies, elapsedMs } = runs.get(t)!; // as above
    const stats = isLib(t) ? batchCellStats(before.get(t)!, await call(t.page, 'libMetrics', t.target)) : {}; // taken above for every library target
    out.set(t, { ...cellOf(1, latencies, elapsedMs), ...stats });
  }
  return out;
}

/** The worker round trip from its three one-page cells. */
export function roundTripOf(backend: string, model: string, worker: CellResult, local: CellResult, hand: CellResult): WorkerRoundTrip {
  return {
    backend,
    model,
    workerP50Ms: worker.p50Ms,
    localP50Ms: local.p50Ms,
    handP50Ms: hand.p50Ms,
    roundTripMs: worker.p50Ms - local.p50Ms,
    handRoundTripMs: hand.p50Ms - local.p50Ms,
    ownMs: worker.p50Ms - hand.p50Ms,
    cells: { worker, local, hand },
  };
}
