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
  /** Resident bytes of the browser's renderer processes (the page and its workers), where the caller measures them. */
  readonly rendererBytes: number | undefined;
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

/** A model's one input: its name in requests and its shape (random float data of that shape is sent). */
export interface SwapModelInput {
  readonly key: string;
  readonly shape: readonly number[];
}

/** The emotion model's input (from `@vladmandic/human`). */
export const EMOTION_INPUT: SwapModelInput = { key: 'input_1:0', shape: [1, 64, 64, 1] };

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

/** Starts `callers` loops of predictions of `model` (random data of `input`'s shape each). */
export async function startLoad(page: Page, model: string, callers: number, input: SwapModelInput = EMOTION_INPUT): Promise<void> {
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
              const data = Float32Array.from({ length: input.shape.reduce((a, b) => a * b, 1) }, () => Math.random());
              const r = await w.server.predict({ model, inputs: { [input.key]: { shape: [...input.shape], data } } });
              const outputs = Object.values(r.outputs);
              if (outputs.length === 0 || outputs.some((o) => o.data.length === 0 || Array.from(o.data as Float32Array).some((x) => !Number.isFinite(x)))) {
                failures.push(`empty or non-finite outputs from v${r.model.version}`);
              }
              byVersion[r.model.version] = (byVersion[r.model.version] ?? 0) + 1;
            } catch (e) {
              failures.push(`${(e as { code?: string }).code}: ${(e as Error).message}`);
            }
          }
        }),
      ).then(() => ({ byVersion, failures }));
    },
    { model, callers, input },
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
export async function sampleMemory(page: Page, swap: number, rendererBytes?: () => Promise<number | undefined>): Promise<SwapMemorySample> {
  const sample = await page.evaluate(async (swap) => {
    const w = window as unknown as Win;
    const memory = await w.server.workerMemory();
    // Chromium's non-standard performance.memory: the page's JS heap.
    const pageHeapBytes = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
    return { ...memory, swap, pageHeapBytes, liveWorkers: w.server.liveWorkers };
  }, swap);
  return { ...sample, rendererBytes: await rendererBytes?.() };
}

/**
 * Runs `swaps` swaps under a request loop: for each, `publish(version)` publishes the next version in
 * the repository and the page polls (in fresh-worker mode `pollNow` resolves once serving moved).
 */
export async function runSwaps(
  page: Page,
  model: string,
  swaps: number,
  publish: (version: number) => Promise<unknown>,
  options: { callers?: number; input?: SwapModelInput; rendererBytes?: () => Promise<number | undefined> } = {},
): Promise<SwapRun> {
  const callers = options.callers ?? 2;
  const samples = [await sampleMemory(page, 0, options.rendererBytes)];
  await startLoad(page, model, callers, options.input);
  for (let i = 1; i <= swaps; i++) {
    await publish(i + 1);
    await page.evaluate((model) => (window as unknown as Win).server.pollNow(model), model);
    // Sample once an old worker finished its requests and was terminated.
    await page.waitForFunction(() => (window as unknown as Win).server.liveWorkers === 1);
    samples.push(await sampleMemory(page, i, options.rendererBytes));
  }
  const { byVersion, failures } = await stopLoad(page);
  const { events, freshWorkerSwaps } = await page.evaluate(() => {
    const w = window as unknown as Win;
    return { events: [...w.events], freshWorkerSwaps: w.server.freshWorkerSwaps };
  });
  return { samples, failures, byVersion, events, freshWorkerSwaps };
}
