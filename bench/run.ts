/**
 * `npm run bench`: every benchmark, printed as tables and written to bench/results/<timestamp>.json and
 * bench/results/latest.json (git-ignored). Performance is measured here, never in timed tests.
 *
 * `--quick`: 1.5 s cells, emotion only, 1 and 64 callers, maxBatchSize 32 (each default can still be given).
 *   npm run bench -- [--quick] [--seconds S] [--warmup S] [--backends wasm,webgpu] [--models emotion,facemesh]
 *                    [--webgpu-models emotion] [--concurrency 1,32,64] [--max-batch-sizes 32,64] [--batch-timeout-us 1500] [--batch-padding-policy BATCH_DOWN]
 *                    [--inference-workers 2] [--converter-runs N] [--skip browser,canary,converter,gpu,rest-memory,delta-download,on-demand,probe-latency,swap-memory]
 *
 * 1. Browser serving (headless Chromium): library (bundle, worker) with batching on (per maxBatchSize) / off
 *    vs plain TF.js execute in the page and hand-made batches of maxBatchSize, per backend, at each
 *    concurrency; issue 11's goals as ratios; the worker round trip at batch 1.
 *    Then, in Node, canary routing (bench/canary-routing.ts; `--skip canary` leaves it out): predict with and
 *    without a canary split, and the user hash.
 * 2. Converter timing: convertSavedModel on the real-world SavedModels, median of N.
 * 3. Node WebGPU through Dawn (bench/gpu.ts, in a child process): skipped with a line where there is no adapter.
 * 4. REST memory (bench/rest-memory.ts): peak RSS of `serve` for one 50 MB predict body.
 * 5. Delta download (bench/delta-download.ts): bytes fetched for emotion v2 with its last layer changed, vs v1.
 * 6. On-demand loading (bench/on-demand.ts): cold miss vs warm hit, and a skewed mix's hit rate, in Node on wasm.
 * 7. Probe latency (bench/probe-latency.ts): status, metrics and /readyz of `serve` while a model computes.
 * 8. Swap memory (bench/swap-memory.ts): memory across 20 version swaps per swapMode, in Chromium.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { LIB_LOCAL, LIB_UNBATCHED, LIB_WORKER, PLAIN, libPool, runBrowserServing } from './browser-serving.js';
import type { BrowserBackend, BrowserServingResult } from './browser-serving.js';
import { BENCH_DIR, MODELS, REPO_ROOT, addRatios, log, overheadRows, overheadTable, servingTable, table } from './common.js';
import { addHandMadeRatios, batchedVariant, batchingFor, goalRows, goalsTable } from './ratios.js';
import type { BenchModel, OverheadRow } from './common.js';
import type { GoalRow } from './ratios.js';
import { converterTable, runConverterTiming } from './converter-timing.js';
import type { ConverterRow } from './converter-timing.js';
import { graphTable, runGraphComparison, type GraphRow } from './converter-graphs.js';
import { canaryRoutingTable, runCanaryRouting } from './canary-routing.js';
import type { GpuBenchResult } from './gpu.js';
import { restMemoryTable, runRestMemory } from './rest-memory.js';
import type { RestMemoryRow } from './rest-memory.js';
import { probeLatencyTable, runProbeLatency } from './probe-latency.js';
import type { ProbeLatencyRow } from './probe-latency.js';
import { runSwapMemory, swapMemoryTable } from './swap-memory.js';
import type { SwapMemoryRow } from './swap-memory.js';
import { printGpuResult } from './gpu.js';
import { deltaDownloadTable, runDeltaDownload } from './delta-download.js';
import type { DeltaDownloadRow } from './delta-download.js';
import { onDemandTable, runOnDemand } from './on-demand.js';
import type { OnDemandResult } from './on-demand.js';

function args(argv: string[]) {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const skip = new Set((get('skip') ?? '').split(',').filter(Boolean));
  return {
    quick,
    seconds: Number(get('seconds') ?? (quick ? 1.5 : 4)),
    warmup: Number(get('warmup') ?? (quick ? 0.5 : 1)),
    backends: (get('backends') ?? 'wasm,webgpu').split(',') as BrowserBackend[],
    models: (get('models') ?? (quick ? 'emotion' : 'emotion,facemesh')).split(',').map((n) => {
      const m = MODELS[n as BenchModel['name']];
      if (!m) throw new Error(`unknown model ${n}; known: ${Object.keys(MODELS).join(', ')}`);
      return m;
    }),
    webgpuModels: (get('webgpu-models') ?? 'emotion').split(',').map((n) => {
      const m = MODELS[n as BenchModel['name']];
      if (!m) throw new Error(`unknown model ${n}; known: ${Object.keys(MODELS).join(', ')}`);
      return m;
    }),
    concurrency: (get('concurrency') ?? (quick ? '1,64' : '1,32,64')).split(',').map(Number),
    maxBatchSizes: (get('max-batch-sizes') ?? (quick ? '32' : '32,64')).split(',').map(Number),
    batchingOverride: {
      ...(get('batch-timeout-us') === undefined ? {} : { batchTimeoutMicros: Number(get('batch-timeout-us')) }),
      ...(get('batch-padding-policy') === undefined ? {} : { batchPaddingPolicy: get('batch-padding-policy') }),
    },
    converterRuns: Number(get('converter-runs') ?? (quick ? 3 : 7)),
    /** Workers of the "inference workers" rows (wasm only); 1 leaves them out. */
    inferenceWorkers: Number(get('inference-workers') ?? 2),
    skip,
  };
}

async function runGpuChild(a: ReturnType<typeof args>): Promise<GpuBenchResult | { status: 'failed'; reason: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-gpu-'));
  const json = join(dir, 'gpu.json');
  try {
    const childArgs = ['--import', 'tsx', join(BENCH_DIR, 'gpu.ts'), '--json', json, '--seconds', String(a.seconds), '--warmup', String(a.warmup), '--concurrency', a.concurrency.join(','), '--max-batch-sizes', a.maxBatchSizes.join(','), '--models', a.models.map((m) => m.name).join(',')];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, childArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c ?? 1);
      });
    });
    if (code !== 0) return { status: 'failed', reason: `bench/gpu.ts exited with ${code}` };
    return JSON.parse(await readFile(json, 'utf8')) as GpuBenchResult;
  } catch (e) {
    return { status: 'failed', reason: (e as Error).message };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const started = Date.now();
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}` };
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  const results: Record<string, unknown> = {
    measuredAt: new Date().toISOString(),
    machine,
    settings: { secondsPerCell: a.seconds, warmupSecondsPerCell: a.warmup, concurrency: a.concurrency, batchingParameters: Object.fromEntries(a.maxBatchSizes.map((b) => [b, { ...batchingFor(b), ...a.batchingOverride }])), models: a.models.map((m) => ({ name: m.name, shape: m.shape })) },
  };

  let browser: BrowserServingResult | undefined;
  let overhead: OverheadRow[] = [];
  let goals: GoalRow[] = [];
  if (!a.skip.has('browser')) {
    try {
      browser = await runBrowserServing({ backends: a.backends, models: a.models, webgpuModels: a.webgpuModels, concurrencies: a.concurrency, maxBatchSizes: a.maxBatchSizes, batchingOverride: a.batchingOverride, inferenceWorkers: a.inferenceWorkers, warmupMs: a.warmup * 1000, durationMs: a.seconds * 1000 });
      addRatios(browser.rows, PLAIN);
      addHandMadeRatios(browser.rows, LIB_WORKER, a.maxBatchSizes);
      goals = goalRows(browser.rows, LIB_WORKER, PLAIN, a.maxBatchSizes);
      overhead = overheadRows(browser.rows, PLAIN, [LIB_UNBATCHED, LIB_LOCAL, ...a.maxBatchSizes.map((b) => batchedVariant(LIB_WORKER, b))]);
      results.browser = { ...browser, overhead, goals };
    } catch (e) {
      results.browser = { skipped: (e as Error).message };
      log(`browser benchmark skipped: ${(e as Error).message}`);
    }
  }

  let converter: { rows: ConverterRow[]; notes: string[]; graphs: GraphRow[] } | undefined;
  if (!a.skip.has('converter')) {
    converter = { ...(await runConverterTiming(a.converterRuns)), graphs: await runGraphComparison(a.converterRuns * 5) };
    results.converter = converter;
  }

  let gpu: Awaited<ReturnType<typeof runGpuChild>> | undefined;
  if (!a.skip.has('gpu')) {
    gpu = await runGpuChild(a);
    results.gpu = gpu;
  }
  const canary = a.skip.has('canary') ? undefined : await runCanaryRouting(a.seconds, a.warmup);
  if (canary) results.canaryRouting = canary;
  let restMemory: RestMemoryRow[] | undefined;
  if (!a.skip.has('rest-memory')) {
    restMemory = await runRestMemory([50]);
    results.restMemory = restMemory;
  }
  let deltaDownload: DeltaDownloadRow[] | undefined;
  if (!a.skip.has('delta-download')) {
    deltaDownload = await runDeltaDownload();
    results.deltaDownload = deltaDownload;
  }
  let onDemand: OnDemandResult | undefined;
  if (!a.skip.has('on-demand')) {
    onDemand = await runOnDemand({ seconds: a.seconds });
    results.onDemand = onDemand;
  }
  let probeLatency: ProbeLatencyRow[] | undefined;
  if (!a.skip.has('probe-latency')) {
    probeLatency = await runProbeLatency(a.seconds);
    results.probeLatency = probeLatency;
  }
  let swapMemory: SwapMemoryRow[] | undefined;
  if (!a.skip.has('swap-memory')) {
    swapMemory = await runSwapMemory(20);
    results.swapMemory = swapMemory;
  }
  results.totalSeconds = (Date.now() - started) / 1000;

  // Print.
  console.log(`\ntfjs-serving benchmarks — ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}`);
  console.log(`cells: ${a.warmup} s warm-up, then ${a.seconds} s measured; closed-loop callers; batching on = ${JSON.stringify(results.settings)}`);
  if (browser) {
    console.log('\n## Browser serving (headless Chromium)\n');
    for (const n of browser.notes) console.log(`- ${n}`);
    console.log('');
    console.log(servingTable(browser.rows));
    console.log("\n## Issue 11's goals (ratios within this run)\n");
    console.log(goalsTable(goals));
    const pooled = browser.rows.filter((r) => r.variant === libPool(a.inferenceWorkers) && r.cell.concurrency > 1);
    if (pooled.length > 0) {
      console.log(`\n## WASM on ${a.inferenceWorkers} cores: inferenceWorkers ${a.inferenceWorkers}, batching off (goal at the most callers: p50 ÷ plain ≤ 0.6)\n`);
      console.log(
        table(
          ['backend', 'model', 'callers', 'items/s ÷ plain', 'p50 ÷ plain'],
          pooled.map((r) => [r.backend, r.model, String(r.cell.concurrency), r.throughputVsPlain === undefined ? '—' : `${r.throughputVsPlain.toFixed(2)}×`, r.p50VsPlain === undefined ? '—' : `${r.p50VsPlain.toFixed(2)}×`]),
        ),
      );
    }
    console.log('\n## Library round trip, batch 1, one caller (vs plain TF.js execute in the page)\n');
    console.log(overheadTable(overhead));
    console.log('\n## Worker round trip at batch 1 (page ↔ worker, one page, in turns; goal ≤ 0.3 ms added at p50)\n');
    console.log(
      table(
        ['backend', 'model', 'worker p50 ms', 'worker: false p50 ms', 'hand-written TF.js worker p50 ms', 'round trip ms (worker − worker: false)', 'hand-written worker − worker: false ms', 'library\'s own ms (worker − hand-written)'],
        browser.workerRoundTrip.map((w) => [w.backend, w.model, w.workerP50Ms.toFixed(3), w.localP50Ms.toFixed(3), w.handP50Ms.toFixed(3), w.roundTripMs.toFixed(3), w.handRoundTripMs.toFixed(3), w.ownMs.toFixed(3)]),
      ),
    );
    console.log(`\nlibrary vs plain outputs for one item, max |diff|: ${JSON.stringify(browser.maxAbsDiff)}`);
  } else if (results.browser) console.log(`\nbrowser benchmark skipped: ${(results.browser as { skipped: string }).skipped}`);
  if (converter) {
    console.log('\n## Converter (convertSavedModel, in memory, cpu backend for constant folding)\n');
    console.log(converterTable(converter.rows));
    for (const n of converter.notes) console.log(`- ${n}`);
    console.log('\n## Converted graphs: optimized vs optimize off (same process, cpu backend, execute median)\n');
    console.log(graphTable(converter.graphs));
  }
  if (gpu) {
    console.log('\n## Node WebGPU through Dawn (bench/gpu.ts)\n');
    if (gpu.status === 'failed') console.log(`FAILED: ${gpu.reason}`);
    else printGpuResult(gpu);
  }

  if (canary) console.log(`\n## Canary routing (bench/canary-routing.ts)\n\n${canaryRoutingTable(canary)}\n`);
  if (restMemory) {
    console.log('\n## REST memory (bench/rest-memory.ts: one predict into a `serve` child, peak RSS)\n');
    console.log(restMemoryTable(restMemory));
  }
  if (probeLatency) {
    console.log('\n## Probes while a model computes (bench/probe-latency.ts: `serve` with and without its inference thread)\n');
    console.log(probeLatencyTable(probeLatency));
  }

  if (deltaDownload) {
    console.log('\n## Delta download (bench/delta-download.ts: emotion v2 with its last layer changed, bytes served over HTTP)\n');
    console.log(deltaDownloadTable(deltaDownload));
  }
  if (onDemand) {
    console.log('\n## On-demand loading (bench/on-demand.ts: three models, a budget for two, Node)\n');
    console.log(onDemandTable(onDemand));
  }
  if (swapMemory) {
    console.log('\n## Memory across 20 version swaps per swapMode (bench/swap-memory.ts: Chromium, wasm, a request loop running)\n');
    console.log(swapMemoryTable(swapMemory));
  }

  const dir = join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const text = JSON.stringify(results, null, 2);
  await writeFile(join(dir, `${stamp}.json`), text);
  await writeFile(join(dir, 'latest.json'), text);
  console.log(`\nwrote bench/results/${stamp}.json and bench/results/latest.json (${results.totalSeconds} s in all)`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
