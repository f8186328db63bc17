/**
 * Memory across version swaps in headless Chromium, per `swapMode`: the emotion model (from
 * `@vladmandic/human`) in a repository over HTTP on 127.0.0.1, the bundle's worker mode on wasm, a
 * request loop running while `--swaps` new versions are published and polled one at a time. After each
 * swap (and once an old worker is terminated) it samples the serving worker's WASM heap and
 * `tf.memory()`, the page's JS heap, and the resident memory of Chromium's renderer processes (the page
 * and its workers, from /proc on Linux). Prints a table and writes bench/results/swap-memory.json.
 *
 *   node --import tsx bench/swap-memory.ts [--swaps 20] [--modes in-place,fresh-worker] [--models emotion]
 *
 * emotion (0.8 MB of weights, the default) fits the WASM heap's first 16 MiB twice over; faceres (7 MB,
 * `--models faceres`) does not, so an in-place swap (two versions loaded at once) grows the heap, and it
 * never shrinks. faceres under the request loop is slow on a small box (an in-place load competes with
 * the requests in the one worker: over a minute a swap on 2 loaded cores), so `npm run bench` runs emotion.
 *   (also part of `npm run bench`; `--skip swap-memory` leaves it out)
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SwapMode } from '../src/browser.js';
import { publishGraphModel } from '../src/repository/publish.js';
import { openLibraryPage } from '../test/browser/library-page.js';
import { EMOTION_INPUT, runSwaps, startSwapServer } from '../test/browser/swap-driver.js';
import type { SwapMemorySample, SwapModelInput } from '../test/browser/swap-driver.js';
import { BENCH_DIR, HUMAN_MODELS_DIR, log, table } from './common.js';
import { removeTempDirs, tempDir } from '../test/helpers/models.js';

const MiB = 1024 * 1024;

/** The models a run can swap (from `@vladmandic/human`), with their input. */
export const SWAP_MODELS: Record<string, SwapModelInput> = {
  emotion: EMOTION_INPUT,
  faceres: { key: 'input_1', shape: [1, 224, 224, 3] },
};

/** Resident bytes (VmRSS) of the renderer processes of the Chromium whose profile is `userDataDir`; undefined without /proc. */
async function rendererBytes(userDataDir: string): Promise<number | undefined> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const procs = new Map<string, { ppid: string; args: string; rss: number }>();
  for (const pid of pids) {
    try {
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const ppid = /PPid:\s+(\d+)/.exec(status)?.[1] ?? '';
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      procs.set(pid, { ppid, args, rss });
    } catch {
      // gone meanwhile
    }
  }
  const browser = [...procs].find(([, p]) => p.args.includes(`--user-data-dir=${userDataDir}`) && !p.args.includes('--type='))?.[0];
  if (!browser) return undefined;
  const descends = (pid: string): boolean => {
    for (let p = procs.get(pid)?.ppid, hops = 0; p && hops < 10; p = procs.get(p)?.ppid, hops++) if (p === browser) return true;
    return false;
  };
  return [...procs].filter(([pid, p]) => p.args.includes('--type=renderer') && descends(pid)).reduce((sum, [, p]) => sum + p.rss, 0);
}

/** One mode's run. */
export interface SwapMemoryRow {
  readonly model: string;
  readonly mode: SwapMode;
  readonly swaps: number;
  readonly failedRequests: number;
  /** The first failure's code and message, if any. */
  readonly firstFailure: string | undefined;
  readonly answeredRequests: number;
  readonly freshWorkerSwaps: number;
  readonly secondsPerSwap: number;
  readonly samples: readonly SwapMemorySample[];
}

/** Runs `swaps` swaps of each model in each mode, each in a fresh browser profile. */
export async function runSwapMemory(swaps = 20, modes: readonly SwapMode[] = ['in-place', 'fresh-worker'], models: readonly string[] = ['emotion']): Promise<SwapMemoryRow[]> {
  const rows: SwapMemoryRow[] = [];
  try {
    for (const { model, mode } of models.flatMap((model) => modes.map((mode) => ({ model, mode })))) {
      const input = SWAP_MODELS[model];
      if (!input) throw new Error(`unknown model ${model}; known: ${Object.keys(SWAP_MODELS).join(', ')}`);
      log(`swap-memory: ${model}, ${mode}, ${swaps} swaps`);
      const repoDir = await tempDir('bench-swap');
      const publish = (version: number) => publishGraphModel(join(HUMAN_MODELS_DIR, `${model}.json`), join(repoDir, model), { version });
      await publish(1);
      const app = await openLibraryPage(repoDir);
      try {
        await startSwapServer(app.page, model, mode);
        const started = Date.now();
        const run = await runSwaps(app.page, model, swaps, publish, { input, rendererBytes: () => rendererBytes(app.browser.userDataDir) });
        const row: SwapMemoryRow = {
          model,
          mode,
          swaps,
          failedRequests: run.failures.length,
          firstFailure: run.failures[0],
          answeredRequests: Object.values(run.byVersion).reduce((a, b) => a + b, 0),
          freshWorkerSwaps: run.freshWorkerSwaps,
          secondsPerSwap: (Date.now() - started) / 1000 / swaps,
          samples: run.samples,
        };
        rows.push(row);
        log(`swap-memory: ${swapMemoryTable([row]).split('\n')[2]}`); // each row as it comes: a long run still says what it measured
      } finally {
        await app.close();
      }
    }
  } finally {
    await removeTempDirs();
  }
  return rows;
}

/** The table: memory before the first swap, its maximum across the swaps, and after the last, per mode. */
export function swapMemoryTable(rows: readonly SwapMemoryRow[]): string {
  const mib = (b: number | undefined) => (b === undefined ? 'n/a' : (b / MiB).toFixed(1));
  const span = (r: SwapMemoryRow, f: (s: SwapMemorySample) => number | undefined, fmt: (n: number | undefined) => string) => {
    const values = r.samples.map(f);
    const defined = values.filter((v): v is number => v !== undefined);
    return `${fmt(values[0])} / ${fmt(defined.length ? Math.max(...defined) : undefined)} / ${fmt(values.at(-1))}`;
  };
  return table(
    ['model', 'mode', 'swaps', 'failed / answered requests', 's per swap', 'worker WASM heap MiB (0 / max / last)', 'tf numTensors', 'tf MiB', 'page JS heap MiB', 'renderer RSS MiB (page + workers)'],
    rows.map((r) => [
      r.model,
      r.mode,
      `${r.swaps} (${r.freshWorkerSwaps} to fresh workers)`,
      `${r.failedRequests} / ${r.answeredRequests}`,
      r.secondsPerSwap.toFixed(2),
      span(r, (s) => s.wasmHeapBytes, mib),
      span(r, (s) => s.numTensors, (n) => String(n ?? 'n/a')),
      span(r, (s) => s.numBytes, mib),
      span(r, (s) => s.pageHeapBytes, mib),
      span(r, (s) => s.rendererBytes, mib),
    ]),
  );
}

async function main(): Promise<void> {
  const get = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const modes = (get('modes') ?? 'in-place,fresh-worker').split(',') as SwapMode[]; // checked by ModelServer.start in the page
  const rows = await runSwapMemory(Number(get('swaps') ?? 20), modes, (get('models') ?? 'emotion').split(','));
  console.log(swapMemoryTable(rows));
  for (const r of rows) if (r.firstFailure) console.log(`${r.model} ${r.mode}: first failed request: ${r.firstFailure}`);
  const dir = join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'swap-memory.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
