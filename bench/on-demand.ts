/**
 * On-demand loading (`modelLoading: 'on-demand'`) in Node on wasm: three real models from
 * `@vladmandic/human` (emotion, antispoof, liveness; 0.6–0.9 MB each) served from a local directory
 * with a `totalModelMemoryLimitBytes` that fits two of them. Measures
 *
 * - a cold miss: a request whose model is not loaded (evict the LRU one, load, warm up, predict), driven
 *   by cycling a → b → c so that every request misses;
 * - a warm hit: the same model again and again;
 * - a skewed mix (45 % / 45 % / 10 %, closed loop, one caller) for `--seconds`: requests/s, hit rate,
 *   loads and evictions from the server's own metrics.
 *
 *   node --import tsx bench/on-demand.ts [--seconds S]   (also part of `npm run bench`; `--skip on-demand` leaves it out)
 */
import { cp, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalModelServer, METRIC_NAMES } from '../src/node.js';
import { HUMAN_MODELS_DIR, log, percentile, table } from './common.js';

/** The models: name in the package, the signature's input key, one item's shape. */
const MODELS: ReadonlyArray<{ name: string; input: string; shape: number[] }> = [
  { name: 'emotion', input: 'input_1:0', shape: [1, 64, 64, 1] },
  { name: 'antispoof', input: 'conv2d_input', shape: [1, 128, 128, 3] },
  { name: 'liveness', input: 'conv2d_1_input', shape: [1, 32, 32, 3] },
];

export interface OnDemandRow {
  readonly case: string;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly requestsPerSec?: number;
  readonly hitRate?: number;
  readonly loads?: number;
  readonly evictions?: number;
}

export interface OnDemandResult {
  readonly backend: string;
  readonly budgetBytes: number;
  readonly estimates: Record<string, number>;
  readonly rows: OnDemandRow[];
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function stats(latencies: number[]): { p50Ms: number; p90Ms: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) };
}

async function counterSum(server: LocalModelServer, name: string, filter: (labels: Readonly<Record<string, string>>) => boolean = () => true): Promise<number> {
  const metric = (await server.metrics())[name];
  if (metric?.type !== 'counter') return 0;
  return metric.samples.filter((s) => filter(s.labels)).reduce((n, s) => n + s.value, 0);
}

export async function runOnDemand(options: { seconds: number; rounds?: number }): Promise<OnDemandResult> {
  const root = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-on-demand-'));
  try {
    const estimates: Record<string, number> = {};
    for (const m of MODELS) {
      const dir = join(root, m.name, '1');
      await mkdir(dir, { recursive: true });
      await cp(join(HUMAN_MODELS_DIR, `${m.name}.json`), join(dir, 'model.json'));
      await cp(join(HUMAN_MODELS_DIR, `${m.name}.bin`), join(dir, `${m.name}.bin`));
      const bytes = (await stat(join(dir, 'model.json'))).size + (await stat(join(dir, `${m.name}.bin`))).size;
      estimates[m.name] = Math.ceil(1.2 * bytes);
    }
    const sizes = Object.values(estimates).sort((a, b) => b - a);
    const budget = sizes[0]! + sizes[1]!; // the two largest fit, never all three
    const server = await LocalModelServer.start({
      modelConfigList: MODELS.map((m) => ({ name: m.name, basePath: join(root, m.name) })),
      backends: ['wasm'],
      pollIntervalMs: 0,
      modelLoading: 'on-demand',
      totalModelMemoryLimitBytes: budget,
    });
    try {
      const inputs = new Map(MODELS.map((m) => [m.name, { [m.input]: { shape: m.shape, data: new Float32Array(m.shape.reduce((a, b) => a * b, 1)).fill(0.5) } }]));
      const ask = async (name: string) => {
        const t0 = performance.now();
        await server.predict({ model: name, inputs: inputs.get(name) ?? {} });
        return performance.now() - t0;
      };
      const rows: OnDemandRow[] = [];

      // Cold misses: with room for two, cycling through three makes every request a miss.
      const cold: number[] = [];
      const rounds = options.rounds ?? 4;
      for (let i = 0; i < rounds * MODELS.length; i++) {
        await yieldToLoop();
        cold.push(await ask(MODELS[i % MODELS.length]!.name));
      }
      const misses = await counterSum(server, METRIC_NAMES.onDemandRequests, (l) => l.result === 'miss');
      rows.push({ case: 'cold miss (LRU cycle a→b→c: evict + load + warmup + predict)', requests: cold.length, ...stats(cold), hitRate: 1 - misses / cold.length });

      // Warm hits: the model just used, again and again.
      const warm: number[] = [];
      const last = MODELS[(rounds * MODELS.length - 1) % MODELS.length]!.name;
      const warmUntil = performance.now() + (options.seconds * 1000) / 2;
      while (performance.now() < warmUntil) {
        await yieldToLoop();
        warm.push(await ask(last));
      }
      rows.push({ case: `warm hit (${last} again)`, requests: warm.length, ...stats(warm) });

      // A skewed mix: two hot models and a cold one.
      const before = {
        hits: await counterSum(server, METRIC_NAMES.onDemandRequests, (l) => l.result === 'hit'),
        misses: await counterSum(server, METRIC_NAMES.onDemandRequests, (l) => l.result === 'miss'),
        loads: await counterSum(server, METRIC_NAMES.onDemandLoads),
        evictions: await counterSum(server, METRIC_NAMES.onDemandEvictions),
      };
      const mix: number[] = [];
      let seed = 12345;
      const t0 = performance.now();
      while (performance.now() - t0 < options.seconds * 1000) {
        await yieldToLoop();
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const r = seed / 2 ** 31;
        mix.push(await ask(MODELS[r < 0.45 ? 0 : r < 0.9 ? 1 : 2]!.name));
      }
      const elapsed = (performance.now() - t0) / 1000;
      const hits = (await counterSum(server, METRIC_NAMES.onDemandRequests, (l) => l.result === 'hit')) - before.hits;
      const missed = (await counterSum(server, METRIC_NAMES.onDemandRequests, (l) => l.result === 'miss')) - before.misses;
      rows.push({
        case: 'mix 45/45/10 % (one caller)',
        requests: mix.length,
        ...stats(mix),
        requestsPerSec: mix.length / elapsed,
        hitRate: hits / Math.max(1, hits + missed),
        loads: (await counterSum(server, METRIC_NAMES.onDemandLoads)) - before.loads,
        evictions: (await counterSum(server, METRIC_NAMES.onDemandEvictions)) - before.evictions,
      });
      return { backend: server.backend, budgetBytes: budget, estimates, rows };
    } finally {
      await server.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function onDemandTable(r: OnDemandResult): string {
  const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '' : v.toFixed(digits));
  return [
    `backend ${r.backend}; budget ${r.budgetBytes} bytes for estimates ${Object.entries(r.estimates).map(([k, v]) => `${k} ${v}`).join(', ')} (two fit)`,
    '',
    table(
      ['case', 'requests', 'p50 ms', 'p90 ms', 'req/s', 'hit rate', 'loads', 'evictions'],
      r.rows.map((row) => [row.case, String(row.requests), fmt(row.p50Ms, 2), fmt(row.p90Ms, 2), fmt(row.requestsPerSec), row.hitRate === undefined ? '' : `${(row.hitRate * 100).toFixed(0)} %`, row.loads === undefined ? '' : String(row.loads), row.evictions === undefined ? '' : String(row.evictions)]),
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--seconds');
  const seconds = i >= 0 ? Number(process.argv[i + 1]) : 4;
  log(`on-demand: ${seconds} s per timed case`);
  const result = await runOnDemand({ seconds });
  console.log(onDemandTable(result));
}
