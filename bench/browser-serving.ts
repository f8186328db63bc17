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
import { maxAbsDiff as outputsDiff } from './measure.js';
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

export interface WorkerRoundTrip {
  backend: string;
  model: string;
  /** p50 ms: library in a worker, library with worker: false, plain execute in the page. */
  workerP50Ms: number;
  localP50Ms: number;
  plainP50Ms: number;
  /** worker − worker: false (the round trip alone; goal ≤ 0.3 ms) and worker − plain. */
  roundTripMs: number;
  vsPlainMs: number;
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
  try {
    const t0 = Date.now();
    // An explicit outDir: the harness's on-disk cache keys on src/ and test/, not bench/.
    const bundle = await buildBrowserBundle('bench/browser/bench-page.entry.ts', bundleDir);
    log(`built the bench page in ${Date.now() - t0} ms`);
    const all = [...new Set([...o.models, ...(o.webgpuModels ?? [])])];
    for (const m of all) await publishGraphModel(join(HUMAN_MODELS_DIR, `${m.name}.json`), join(repoDir, m.name), { version: 1 });
    const html = '<!doctype html>\n<meta charset="utf-8">\n<title>tfjs-serving bench</title>\n<script type="module" src="/bench/bench-page.entry.js"></script>\n';
    const server = await startStaticServer({ mounts: { '/lib/': libDir, '/repo/': repoDir, '/bench/': bundle.dir }, routes: { '/index.html': { body: html, type: 'text/html; charset=utf-8' } } });
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
            try {
              // (c) plain TF.js in the page.
              const loaded = await call(page, 'plainLoad', backend, spec);
              if (loaded.backend !== backend) throw new Error(`plain TF.js runs on ${loaded.backend}, not ${backend}`);
              const plainOut = await call(page, 'plainOnce');
              for (const c of o.concurrencies) push(PLAIN, await call(page, 'plainCell', cellOpts(c)));

              // Hand-made batches of B in the page.
              for (const b of sizes) push(handMadeVariant(b), await call(page, 'handMadeCell', cellOpts(1), b));

              // (a) library, batching on, per maxBatchSize.
              for (const b of sizes) {
                const batchingParameters = { ...batchingFor(b), ...(o.batchingOverride ?? {}) };
                const startedA = await call(page, 'libStart', { backends: [backend], enableBatching: true, batchingParameters }, spec);
                if (startedA.backend !== backend || startedA.mode !== 'worker') throw new Error(`library runs ${startedA.mode} on ${startedA.backend}`);
                maxAbsDiff[`${backend}/${m.name}/batching ${b}`] = outputsDiff(plainOut, await call(page, 'libOnce'));
                for (const c of o.concurrencies) push(batchedVariant(LIB_WORKER, b), await call(page, 'libCell', cellOpts(c)));
                await call(page, 'libStop');
              }

              // (b) library, batching off.
              await call(page, 'libStart', { backends: [backend] }, spec);
              for (const c of o.concurrencies) push(LIB_UNBATCHED, await call(page, 'libCell', cellOpts(c)));
              await call(page, 'libStop');

              // (d) wasm: predictions spread over several inference workers (one core each).
              const pool = o.inferenceWorkers ?? 2;
              if (backend === 'wasm' && pool > 1) {
                await call(page, 'libStart', { backends: [backend], inferenceWorkers: pool }, spec);
                for (const c of o.concurrencies) push(libPool(pool), await call(page, 'libCell', cellOpts(c)));
                await call(page, 'libStop');
              }

              // The library on the page's thread (worker: false), one caller, in a page without plain TF.js.
              if (o.concurrencies.includes(1)) {
                const local = await open();
                try {
                  const started = await call(local, 'libStart', { backends: [backend], worker: false }, spec);
                  if (started.mode !== 'local') throw new Error(`worker: false gave a ${started.mode} server`);
                  push(LIB_LOCAL, await call(local, 'libCell', cellOpts(1)));
                  await call(local, 'libStop');
                } finally {
                  await local.close();
                }
              }
            } catch (e) {
              const why = `${backend}/${m.name} skipped: ${(e as Error).message.split('\n')[0]}${pageLogs.length ? ` (page: ${pageLogs.slice(-3).join(' | ')})` : ''}`;
              notes.push(why);
              log(why);
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
  return { rows, notes, maxAbsDiff, workerRoundTrip: workerRoundTrips(rows) };
}

/** The worker round trip at batch 1, one caller: the library in a worker against worker: false and plain execute. */
export function workerRoundTrips(rows: readonly ServingRow[]): WorkerRoundTrip[] {
  const out: WorkerRoundTrip[] = [];
  for (const w of rows.filter((r) => r.variant === LIB_UNBATCHED && r.cell.concurrency === 1)) {
    const at = (variant: string) => rows.find((r) => r.variant === variant && r.backend === w.backend && r.model === w.model && r.cell.concurrency === 1);
    const local = at(LIB_LOCAL);
    const plain = at(PLAIN);
    if (!local || !plain) continue;
    out.push({
      backend: w.backend,
      model: w.model,
      workerP50Ms: w.cell.p50Ms,
      localP50Ms: local.cell.p50Ms,
      plainP50Ms: plain.cell.p50Ms,
      roundTripMs: w.cell.p50Ms - local.cell.p50Ms,
      vsPlainMs: w.cell.p50Ms - plain.cell.p50Ms,
    });
  }
  return out;
}

