/**
 * Drives version swaps of a real model in a page that imports the built bundle: a request loop runs
 * while new versions are published to the repository over HTTP and polled, one at a time; after each
 * swap the serving worker's memory (WASM heap, tf.memory()) and the page's heap are sampled. Used by
 * test/browser/fresh-worker-swap.browser.test.ts and bench/swap-memory.ts.
 */
import type { Page } from 'playwright-core';
import type { SwapMode, WorkerMemory } from '../../src/browser.js';

/** One sample, after `swap` swaps (0: before the first). */
export interface SwapMemorySample extends WorkerMemory {
  readonly swap: number;
  /** `performance.memory.usedJSHeapSize` of the page (Chromium), if any. */
  readonly pageHeapBytes: number | undefined;
  /** Workers alive on the page's client (the serving one plus any fresh or draining one). */
  readonly liveWorkers: number;
}

/** What a run of swaps did. */
export interface SwapRun {
  readonly samples: SwapMemorySample[];
  /** Requests of the loop that failed, with their code and message. */
  readonly failures: string[];
  /** Successful requests of the loop by the version that answered. */
  readonly byVersion: Record<string, number>;
  /** `version:STATE` of every statechange the page heard, in order. */
  readonly events: string[];
  /** Moves to a fresh worker (0 in-place). */
  readonly freshWorkerSwaps: number;
}

type Win = Window & {
  lib: typeof import('../../src/browser.js');
  server: import('../../src/worker-client/worker-model-server.js').WorkerModelServer;
  events: string[];
  load: Promise<{ byVersion: Record<string, number>; failures: string[] }>;
  stopLoad: boolean;
};

/** The emotion model's input (from `@vladmandic/human`). */
export const EMOTION_INPUT = 'input_1:0';

/** Starts a worker-mode server of `model` at /repo/<model> in the page with `swapMode`. */
export async function startSwapServer(page: Page, model: string, swapMode: SwapMode, extra: Record<string, unknown> = {}): Promise<void> {
  await page.evaluate('window.__name = (f) => f'); // tsx keeps function names with a `__name` helper the page does not have
  await page.evaluate(
    async ({ model, swapMode, extra }) => {
      const w = window as unknown as Win;
      w.events = [];
      w.server = (await w.lib.ModelServer.start({
        modelConfigList: [{ name: model, basePath: `/repo/${model}` }],
        pollIntervalMs: 0,
        backends: ['wasm'],
        swapMode,
        listeners: { statechange: (e) => w.events.push(`${e.version}:${e.state}`) },
        ...extra,
      })) as Win['server']; // worker mode (the default in pages) starts a WorkerModelServer
    },
    { model, swapMode, extra },
  );
}

/** Starts `callers` loops of predictions of the emotion model (a random 64×64 face each). */
export async function startEmotionLoad(page: Page, model: string, callers: number): Promise<void> {
  await page.evaluate(
    ({ model, callers, input }) => {
      const w = window as unknown as Win;
      w.stopLoad = false;
      const byVersion: Record<string, number> = {};
      const failures: string[] = [];
      w.load = Promise.all(
        Array.from({ length: callers }, async () => {
          while (!w.stopLoad) {
            try {
              const data = Float32Array.from({ length: 64 * 64 }, () => Math.random());
              const r = await w.server.predict({ model, inputs: { [input]: { shape: [1, 64, 64, 1], data } } });
              const out = Object.values(r.outputs)[0];
              if (!out || out.data.length !== 7) failures.push(`wrong output from v${r.model.version}: ${JSON.stringify(out?.shape)}`);
              byVersion[r.model.version] = (byVersion[r.model.version] ?? 0) + 1;
            } catch (e) {
              failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
            }
          }
        }),
      ).then(() => ({ byVersion, failures }));
    },
    { model, callers, input: EMOTION_INPUT },
  );
}

/** Stops the loops; resolves with what they did. */
export function stopLoad(page: Page): Promise<{ byVersion: Record<string, number>; failures: string[] }> {
  return page.evaluate(async () => {
    const w = window as unknown as Win;
    w.stopLoad = true;
    return w.load;
  });
}

/** The serving worker's memory and the page's heap now. */
export function sampleMemory(page: Page, swap: number): Promise<SwapMemorySample> {
  return page.evaluate(async (swap) => {
    const w = window as unknown as Win;
    const memory = await w.server.workerMemory();
    // Chromium's non-standard performance.memory: the page's JS heap.
    const pageHeapBytes = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
    return { ...memory, swap, pageHeapBytes, liveWorkers: w.server.liveWorkers };
  }, swap);
}

/**
 * Runs `swaps` swaps under a request loop: for each, `publish(version)` publishes the next version in
 * the repository and the page polls (in fresh-worker mode `pollNow` resolves once serving moved).
 */
export async function runSwaps(page: Page, model: string, swaps: number, publish: (version: number) => Promise<unknown>, callers = 2): Promise<SwapRun> {
  const samples = [await sampleMemory(page, 0)];
  await startEmotionLoad(page, model, callers);
  for (let i = 1; i <= swaps; i++) {
    await publish(i + 1);
    await page.evaluate((model) => (window as unknown as Win).server.pollNow(model), model);
    samples.push(await sampleMemory(page, i));
  }
  const { byVersion, failures } = await stopLoad(page);
  const { events, freshWorkerSwaps } = await page.evaluate(() => {
    const w = window as unknown as Win;
    return { events: [...w.events], freshWorkerSwaps: w.server.freshWorkerSwaps };
  });
  return { samples, failures, byVersion, events, freshWorkerSwaps };
}
