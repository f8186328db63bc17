/**
 * Canary routing cost (Node, wasm backend): one closed-loop caller predicting on a tiny dense model
 * (so the serving path, not the model, dominates) with no canary, with a 10 % canary and a user id,
 * and with a 10 % canary and no user id (random per request); plus the user-bucket hash alone.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { LocalModelServer } from '../src/node.js';
import type { ModelConfig } from '../src/node.js';
import { canaryBucket } from '../src/core/canary.js';
import { REPO_ROOT, table } from './common.js';
import { drive } from './measure.js';

export interface CanaryRoutingRow {
  variant: string;
  itemsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Share of requests the canary answered. */
  canaryShare: number;
}

export interface CanaryRoutingResult {
  rows: CanaryRoutingRow[];
  /** Nanoseconds per `canaryBucket` call (1,000,000 calls). */
  bucketNanos: number;
}

export async function runCanaryRouting(seconds: number, warmupSeconds: number): Promise<CanaryRoutingResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tfjs-serving-bench-canary-'));
  try {
    for (const v of [1, 2]) {
      const at = join(dir, String(v));
      await cp(join(REPO_ROOT, 'test', 'fixtures', 'graph-models', 'dense'), at, { recursive: true });
      await writeFile(join(at, 'group1-shard1of1.bin'), new Uint8Array(new Float32Array([v, 0]).buffer));
    }
    const variants: Variant[] = [
      { variant: 'no canary', user: () => undefined },
      { variant: 'canary 10 %, userId', canary: { version: 2, percent: 10 }, user: (i) => `user-${i % 1000}` },
      { variant: 'canary 10 %, no userId (random)', canary: { version: 2, percent: 10 }, user: () => undefined },
    ];
    // Two rounds over the variants; only the second is kept, so that no variant pays for the JIT and the
    // wasm backend's first use (the first cell of a cold process ran several times slower).
    let rows: CanaryRoutingRow[] = [];
    for (let round = 0; round < 2; round++) {
      rows = [];
      for (const v of variants) rows.push(await measureVariant(dir, v, seconds, warmupSeconds));
    }
    let sink = 0;
    const t0 = performance.now();
    for (let k = 0; k < 1_000_000; k++) sink += canaryBucket(`user-${k}`, 'm');
    const bucketNanos = ((performance.now() - t0) * 1e6) / 1_000_000;
    if (Number.isNaN(sink)) throw new Error('unreachable');
    return { rows, bucketNanos };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Variant {
  variant: string;
  canary?: ModelConfig['canary'];
  user: (i: number) => string | undefined;
}

async function measureVariant(dir: string, v: Variant, seconds: number, warmupSeconds: number): Promise<CanaryRoutingRow> {
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: dir, modelVersionPolicy: { all: {} }, ...(v.canary ? { canary: v.canary } : {}) }],
    backends: ['wasm'],
    pollIntervalMs: 0,
  });
  try {
    let i = 0;
    let onCanary = 0;
    let total = 0;
    const cell = await drive(
      async () => {
        const userId = v.user(i++);
        const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, userId === undefined ? {} : { userId });
        total++;
        if (v.canary && r.model.version === v.canary.version) onCanary++;
      },
      { concurrency: 1, warmupMs: warmupSeconds * 1000, durationMs: seconds * 1000 },
      () => tick(),
    );
    return { variant: v.variant, itemsPerSec: cell.itemsPerSec, p50Ms: cell.p50Ms, p99Ms: cell.p99Ms, canaryShare: total ? onCanary / total : 0 };
  } finally {
    await server.close();
  }
}

export function canaryRoutingTable(r: CanaryRoutingResult): string {
  return (
    table(
      ['variant (dense model, wasm, 1 caller)', 'predicts/s', 'p50 ms', 'p99 ms', 'canary share'],
      r.rows.map((x) => [x.variant, x.itemsPerSec.toFixed(0), x.p50Ms.toFixed(3), x.p99Ms.toFixed(3), `${(x.canaryShare * 100).toFixed(1)} %`]),
    ) + `\n\ncanaryBucket (FNV-1a + fmix32 of model and user id): ${r.bucketNanos.toFixed(0)} ns per call`
  );
}
