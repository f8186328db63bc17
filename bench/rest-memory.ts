/**
 * Peak memory of `serve` for one big REST predict: a `serve` child process (cpu backend) per case,
 * its peak RSS (VmHWM in /proc/<pid>/status) after a small warm-up request and after one predict
 * of the given body size. Prints a table and writes bench/results/rest-memory.json.
 *
 *   node --import tsx bench/rest-memory.ts [--mb 50,95] [--backend cpu]
 *   (also part of `npm run bench`, at 50 MB; `--skip rest-memory` leaves it out)
 *
 * Cases: "images" (a batch of 224×224×3 float images into a model that sums each image: a big body,
 * a small answer) and "rows" (the Dense(1) model: the answer is as big as the body).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR, REPO_ROOT, log, table } from './common.js';
import { startServe as startServeProcess } from '../test/helpers/serve-process.js';

const MiB = 1024 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** A graph model y = Sum(x, [1, 2, 3]) over [-1, 224, 224, 3] float images. */
async function sumImagesModel(dir: string): Promise<void> {
  await mkdir(join(dir, '1'), { recursive: true });
  const shape = { dim: [{ size: '-1' }, { size: '224' }, { size: '224' }, { size: '3' }] };
  const model = {
    format: 'graph-model',
    generatedBy: 'bench/rest-memory.ts',
    convertedBy: 'hand',
    signature: {
      inputs: { 'x:0': { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: shape } },
      outputs: { 'y:0': { name: 'y:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }] } } },
    },
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape } } },
        { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '3' }] } } } } },
        { name: 'y', op: 'Sum', input: ['x', 'axes'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'axes', shape: [3], dtype: 'int32' }] }],
  };
  await writeFile(join(dir, '1', 'model.json'), JSON.stringify(model));
  await writeFile(join(dir, '1', 'weights.bin'), new Uint8Array(new Int32Array([1, 2, 3]).buffer));
}

function imagesBody(bytes: number): Buffer {
  const pixel = (i: number) => ((i * 7919) % 1000) / 1000 + 0.0001234;
  const oneImage = (k: number) => {
    const rows: string[] = [];
    for (let y = 0; y < 224; y++) {
      const cols: string[] = [];
      for (let x = 0; x < 224; x++) {
        const i = (k * 224 + y) * 224 + x;
        cols.push(`[${pixel(i)}, ${pixel(i + 1)}, ${pixel(i + 2)}]`);
      }
      rows.push(`[${cols.join(', ')}]`);
    }
    return `[${rows.join(', ')}]`;
  };
  const first = oneImage(0);
  const n = Math.max(1, Math.round(bytes / (first.length + 2)));
  const images = [first];
  for (let k = 1; k < n; k++) images.push(oneImage(k));
  return Buffer.from(`{"instances": [${images.join(', ')}]}`);
}

function rowsBody(bytes: number): Buffer {
  const rows = Math.round(bytes / 16);
  const parts: string[] = new Array(rows);
  for (let i = 0; i < rows; i++) parts[i] = `[${(i % 10) + 0.123456789}]`;
  return Buffer.from(`{"instances": [${parts.join(', ')}]}`);
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function currentRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function post(port: number, body: Buffer | string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/models/m:predict', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode!, bytes }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RestMemoryRow {
  case: string;
  backend: string;
  bodyBytes: number;
  status: number;
  responseBytes: number;
  seconds: number;
  baselinePeakRss: number;
  peakRss: number;
  rssAfter: number;
  peakOverBody: number;
  growthOverBody: number;
}

async function runCase(name: 'images' | 'rows', mb: number, backend: string, work: string): Promise<RestMemoryRow> {
  const base = join(work, `${name}-${mb}`);
  if (name === 'images') await sumImagesModel(base);
  else await cp(join(REPO_ROOT, 'test', 'fixtures', 'graph-models', 'dense'), join(base, '1'), { recursive: true });
  const body = name === 'images' ? imagesBody(mb * 1e6) : rowsBody(mb * 1e6);
  const small = name === 'images' ? imagesBody(1) : JSON.stringify({ instances: [[1]] });
  // Later flags win: this backend, not the helper's cpu.
  const { child, port } = await startServeProcess(['--backend', backend, '--model_name', 'm', '--model_base_path', base, '--rest_api_max_body_bytes', String(256 * MiB), '--rest_api_timeout_in_ms', '0', '--enable_model_warmup', 'false']);
  try {
    await post(port, small);
    const baselinePeakRss = await peakRss(child.pid!);
    const t = performance.now();
    const r = await post(port, body);
    const seconds = (performance.now() - t) / 1000;
    const peak = await peakRss(child.pid!);
    const after = await currentRss(child.pid!);
    return {
      case: name,
      backend,
      bodyBytes: body.length,
      status: r.status,
      responseBytes: r.bytes,
      seconds,
      baselinePeakRss,
      peakRss: peak,
      rssAfter: after,
      peakOverBody: peak / body.length,
      growthOverBody: (peak - baselinePeakRss) / body.length,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

/** Runs every case at each body size (MB) on `backend`. */
export async function runRestMemory(sizes: readonly number[], backend = 'cpu'): Promise<RestMemoryRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-mem-'));
  const rows: RestMemoryRow[] = [];
  try {
    for (const mb of sizes) {
      for (const name of ['images', 'rows'] as const) {
        log(`rest-memory: ${name}, ${mb} MB body, ${backend}`);
        rows.push(await runCase(name, mb, backend, work));
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

export function restMemoryTable(rows: readonly RestMemoryRow[]): string {
  const mib = (b: number) => (b / MiB).toFixed(1);
  return table(
    ['case', 'backend', 'body MiB', 'HTTP', 'answer MiB', 's', 'peak RSS before MiB', 'peak RSS MiB', 'peak / body', '(peak - before) / body'],
    rows.map((r) => [r.case, r.backend, mib(r.bodyBytes), String(r.status), mib(r.responseBytes), r.seconds.toFixed(2), mib(r.baselinePeakRss), mib(r.peakRss), r.peakOverBody.toFixed(2), r.growthOverBody.toFixed(2)]),
  );
}

async function main(): Promise<void> {
  const rows = await runRestMemory(arg('mb', '50').split(',').map(Number), arg('backend', 'cpu'));
  console.log(restMemoryTable(rows));
  const dir = join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'rest-memory.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
