/**
 * Probe latency while a model computes: a `serve` child process (cpu backend) with emotion, one caller
 * sending heavy predicts (a batch of N 64×64 images) back to back for S seconds, and a prober asking
 * `/readyz`, `GET /v1/models/emotion` and the Prometheus metrics in turn every 20 ms. Once with the
 * inference thread (serve's default) and once with `--inference_thread=false`. Also: how long a
 * predict whose deadline (`--rest_api_timeout_in_ms`) is 500 ms takes to be answered 504 behind a
 * heavy one. And `/readyz` every 20 ms during one 50 MB predict into the Dense(1) model (an answer as
 * big: the HTTP thread parses the body and writes the answer). Prints a table and writes
 * bench/results/probe-latency.json.
 *
 *   node --import tsx bench/probe-latency.ts [--seconds 4] [--batch 8]
 *   (also part of `npm run bench`; `--skip probe-latency` leaves it out)
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, MODELS, REPO_ROOT, layOutModels, log, median, percentile, table } from './common.js';
import { startServe as startServeProcess } from '../test/helpers/serve-process.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function http(port: number, method: string, path: string, body?: string | Buffer): Promise<{ status: number; ms: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function images(n: number): string {
  const row = JSON.stringify(Array.from({ length: 64 }, (_, y) => Array.from({ length: 64 }, (_, x) => [((x + y) % 17) / 17])));
  return `{"instances": [${Array.from({ length: n }, () => row).join(',')}]}`;
}

function startServe(base: string, extra: string[]): Promise<{ port: number; stop: () => void }> {
  return startServeModel(base, 'emotion', extra);
}

async function startServeModel(base: string, name: string, extra: string[]): Promise<{ port: number; stop: () => void }> {
  const serve = await startServeProcess(['--model_name', name, '--model_base_path', base, ...extra]);
  return { port: serve.port, stop: () => void serve.child.kill('SIGKILL') };
}

export interface ProbeLatencyRow {
  mode: 'inference thread' | 'HTTP thread';
  endpoint: string;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function runMode(base: string, thread: boolean, seconds: number, batch: number): Promise<ProbeLatencyRow[]> {
  const mode = thread ? 'inference thread' : 'HTTP thread';
  log(`probe-latency: ${mode}, batch ${batch}, ${seconds} s`);
  const serve = await startServe(base, thread ? [] : ['--inference_thread=false']);
  const deadlined = await startServe(base, ['--rest_api_timeout_in_ms', '500', ...(thread ? [] : ['--inference_thread=false'])]);
  try {
    const heavyBody = images(batch);
    await http(serve.port, 'POST', '/v1/models/emotion:predict', images(1));
    const until = performance.now() + seconds * 1000;
    const heavy: number[] = [];
    const caller = (async () => {
      while (performance.now() < until) heavy.push((await http(serve.port, 'POST', '/v1/models/emotion:predict', heavyBody)).ms);
    })();
    const probes: Record<string, number[]> = { '/readyz': [], 'GET /v1/models/emotion': [], '/monitoring/prometheus/metrics': [] };
    const paths = [['/readyz', '/readyz'], ['GET /v1/models/emotion', '/v1/models/emotion'], ['/monitoring/prometheus/metrics', '/monitoring/prometheus/metrics']] as const;
    await new Promise((r) => setTimeout(r, 200));
    for (let k = 0; performance.now() < until; k++) {
      const [name, path] = paths[k % paths.length]!; // k % 3 < 3
      probes[name]!.push((await http(serve.port, 'GET', path)).ms); // one of the three keys
      await new Promise((r) => setTimeout(r, 20));
    }
    await caller;
    // A 500 ms deadline behind a heavy predict.
    const late: number[] = [];
    const lateStatuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const h = http(deadlined.port, 'POST', '/v1/models/emotion:predict', heavyBody);
      await new Promise((r) => setTimeout(r, 100));
      const r = await http(deadlined.port, 'POST', '/v1/models/emotion:predict', images(1));
      late.push(r.ms);
      lateStatuses.push(r.status);
      await h;
    }
    const row = (endpoint: string, ms: number[]): ProbeLatencyRow => {
      const sorted = [...ms].sort((x, y) => x - y);
      return { mode, endpoint, count: ms.length, p50Ms: median(ms), p99Ms: percentile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? NaN };
    };
    return [
      row(`predict, batch ${batch} (the heavy one)`, heavy),
      ...Object.entries(probes).map(([k, v]) => row(k, v)),
      row(`predict behind it, 500 ms deadline (HTTP ${[...new Set(lateStatuses)].join('/')})`, late),
    ];
  } finally {
    serve.stop();
    deadlined.stop();
  }
}

/** `/readyz` every 20 ms while one 50 MB predict (rows into Dense(1), answer as big) is read, run and answered. */
async function runBigBody(root: string, thread: boolean, mb = 50): Promise<ProbeLatencyRow> {
  const mode = thread ? 'inference thread' : 'HTTP thread';
  log(`probe-latency: ${mode}, one ${mb} MB predict`);
  const base = join(root, 'dense');
  await cp(join(REPO_ROOT, 'test', 'fixtures', 'graph-models', 'dense'), join(base, '1'), { recursive: true });
  const rows = Math.round((mb * 1e6) / 16);
  const parts: string[] = new Array(rows);
  for (let i = 0; i < rows; i++) parts[i] = `[${(i % 10) + 0.123456789}]`;
  const body = Buffer.from(`{"instances": [${parts.join(', ')}]}`);
  const serve = await startServeModel(base, 'm', ['--rest_api_max_body_bytes', String(256 * 1024 * 1024), '--rest_api_timeout_in_ms', '0', ...(thread ? [] : ['--inference_thread=false'])]);
  try {
    let done = false;
    const heavy = http(serve.port, 'POST', '/v1/models/m:predict', body).then((r) => void (done = true));
    const ms: number[] = [];
    while (!done) {
      ms.push((await http(serve.port, 'GET', '/readyz')).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    await heavy;
    const sorted = [...ms].sort((x, y) => x - y);
    return { mode, endpoint: `/readyz during one ${mb} MB predict (answer as big)`, count: ms.length, p50Ms: median(ms), p99Ms: percentile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? NaN };
  } finally {
    serve.stop();
  }
}

export async function runProbeLatency(seconds = 4, batch = 8): Promise<ProbeLatencyRow[]> {
  const root = await layOutModels([MODELS.emotion]);
  try {
    const base = join(root, 'emotion');
    return [...(await runMode(base, true, seconds, batch)), await runBigBody(root, true), ...(await runMode(base, false, seconds, batch)), await runBigBody(root, false)];
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function probeLatencyTable(rows: readonly ProbeLatencyRow[]): string {
  return table(
    ['mode', 'request', 'n', 'p50 ms', 'p99 ms', 'max ms'],
    rows.map((r) => [r.mode, r.endpoint, String(r.count), r.p50Ms.toFixed(1), r.p99Ms.toFixed(1), r.maxMs.toFixed(1)]),
  );
}

async function main(): Promise<void> {
  const rows = await runProbeLatency(Number(arg('seconds', '4')), Number(arg('batch', '8')));
  console.log(probeLatencyTable(rows));
  const dir = join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'probe-latency.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
