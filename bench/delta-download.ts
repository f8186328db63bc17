/**
 * Delta download: bytes a client fetches for emotion v2 when only its last layer changed, vs v1 (the
 * full model). The real emotion model (@vladmandic/human) is published as v1, then as v2 with the last
 * layer's weights altered (test/helpers/fine-tuned-emotion.ts), to a repository on a real HTTP server
 * on 127.0.0.1; a ModelServer in this process (wasm backend, memory store) downloads both, and the
 * server counts the body bytes it sent. Two layouts: `publish --shard_by_weight` (one shard per
 * weight) and the model's shards as they are (one emotion.bin). Prints a table and writes
 * bench/results/delta-download.json.
 *
 *   node --import tsx bench/delta-download.ts
 *   (also part of `npm run bench`; `--skip delta-download` leaves it out)
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalModelServer } from '../src/index.js';
import { publishGraphModel } from '../src/repository/publish.js';
import { MemoryModelStore } from '../src/storage/memory-model-store.js';
import { writeFineTunedEmotion } from '../test/helpers/fine-tuned-emotion.js';
import { RepositoryServer } from '../test/helpers/repository-server.js';
import { BENCH_DIR, log, table } from './common.js';

export interface DeltaDownloadRow {
  readonly layout: 'shard by weight' | 'as published';
  /** Sum of v1's file sizes (the full model). */
  readonly v1FileBytes: number;
  /** Body bytes served while v1 was downloaded (manifest included). */
  readonly v1FetchedBytes: number;
  /** Body bytes served while v2 was downloaded (manifest included). */
  readonly v2FetchedBytes: number;
  /** v2FetchedBytes / v1FetchedBytes. */
  readonly ratio: number;
  /** From pollNow to v2 AVAILABLE (download, commit, load, warmup). */
  readonly v2Seconds: number;
}

async function runLayout(layout: DeltaDownloadRow['layout'], work: string): Promise<DeltaDownloadRow> {
  const shardByWeight = layout === 'shard by weight';
  const repoDir = join(work, `repo-${shardByWeight ? 'w' : 'p'}`);
  const v1 = await publishGraphModel(await writeFineTunedEmotion(join(work, 'v1'), 0), join(repoDir, 'emotion'), { shardByWeight });
  const repo = await RepositoryServer.start(repoDir);
  const served = () => repo.requests.reduce((s, r) => s + r.bytes, 0);
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'emotion', basePath: repo.modelUrl('emotion') }],
    store: new MemoryModelStore(),
    pollIntervalMs: 0,
    backends: ['wasm'],
  });
  try {
    const v1FetchedBytes = served();
    await publishGraphModel(await writeFineTunedEmotion(join(work, 'v2'), 1), join(repoDir, 'emotion'), { shardByWeight });
    const t0 = performance.now();
    await server.pollNow('emotion');
    while ((await server.getModelStatus('emotion', 2)).model_version_status[0]?.state !== 'AVAILABLE') await new Promise((r) => setTimeout(r, 5));
    const v2Seconds = (performance.now() - t0) / 1000;
    const r = await server.predict({ model: 'emotion', version: 2, inputs: { 'input_1:0': { shape: [1, 64, 64, 1], data: new Float32Array(64 * 64) } } });
    if (r.model.version !== 2) throw new Error(`version 2 did not answer (version ${r.model.version} did)`);
    const v2FetchedBytes = served() - v1FetchedBytes;
    return { layout, v1FileBytes: v1.files.reduce((s, f) => s + f.size, 0), v1FetchedBytes, v2FetchedBytes, ratio: v2FetchedBytes / v1FetchedBytes, v2Seconds };
  } finally {
    await server.close();
    await repo.close();
  }
}

/** Both layouts, one after the other. */
export async function runDeltaDownload(): Promise<DeltaDownloadRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-delta-'));
  try {
    const rows: DeltaDownloadRow[] = [];
    for (const layout of ['shard by weight', 'as published'] as const) {
      log(`delta download: emotion, ${layout}`);
      rows.push(await runLayout(layout, join(work, layout.replace(/ /g, '-'))));
    }
    return rows;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export function deltaDownloadTable(rows: readonly DeltaDownloadRow[]): string {
  return table(
    ['model', 'layout', 'v1 files bytes', 'v1 fetched bytes', 'v2 fetched bytes (last layer changed)', 'v2 / v1', 'v2 to AVAILABLE s'],
    rows.map((r) => ['emotion', r.layout, String(r.v1FileBytes), String(r.v1FetchedBytes), String(r.v2FetchedBytes), `${(100 * r.ratio).toFixed(1)}%`, r.v2Seconds.toFixed(2)]),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await runDeltaDownload();
  console.log('\n## Delta download (bench/delta-download.ts: emotion v2 with its last layer changed, bytes served over HTTP)\n');
  console.log(deltaDownloadTable(rows));
  const dir = join(BENCH_DIR, 'results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'delta-download.json'), JSON.stringify({ measuredAt: new Date().toISOString(), rows }, null, 2));
  process.exit(0);
}
