/**
 * Dynamic batching in a real browser, through the worker: batched answers equal unbatched ones row for row
 * on a real model, a bad request fails alone, and a full queue rejects at once with UNAVAILABLE.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

type Lib = typeof import('../../src/browser.js');
interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  version?: number;
  values?: number[];
}

/** Starts a server in the page and sends `n` concurrent emotion predictions (request `bad` malformed). */
function burst(page: Page, n: number, options: Record<string, unknown>, bad = -1): Promise<{ backend: string; outcomes: Outcome[]; batches: { count: number; sum: number } | null }> {
  return page.evaluate(
    async ({ n, options, bad }) => {
      const lib = (window as unknown as { lib: Lib }).lib;
      const server = await lib.ModelServer.start({ modelConfigList: [{ name: 'emotion', basePath: '/repo/emotion' }], pollIntervalMs: 0, backends: ['wasm'], ...options } as never);
      const backend = server.backend;
      // (No named functions in here: the test runner's transpiler would wrap them in a helper the page lacks.)
      const inputs = Array.from({ length: n }, (_, i) => {
        const data = new Float32Array(64 * 64);
        for (let k = 0; k < data.length; k++) data[k] = ((k * (i + 3)) % 97) / 97;
        return i === bad ? { shape: [1, 64, 64, 3], data } : { shape: [1, 64, 64, 1], data };
      });
      const settled = await Promise.allSettled(inputs.map((input) => server.predict({ model: 'emotion', inputs: { 'input_1:0': input } })));
      const outcomes = settled.map((s) =>
        s.status === 'fulfilled'
          ? { ok: true, version: s.value.model.version, values: [...(s.value.outputs['Identity:0']!.data as Float32Array)] }
          : { ok: false, code: (s.reason as { code: string }).code, message: (s.reason as Error).message },
      );
      const m = (await server.metrics()) as unknown as Record<string, { samples: Array<{ count: number; sum: number }> }>;
      const sizes = m['/tensorflow/serving/batching_session/input_batch_size']?.samples[0];
      await server.close();
      return { backend, outcomes, batches: sizes ? { count: sizes.count, sum: sizes.sum } : null };
    },
    { n, options, bad },
  );
}

describe('batching in the browser', { skip: skip ?? false, timeout: 120_000 }, () => {
  let repoDir: string;
  before(async () => {
    repoDir = await tempDir('batch-repo');
    await publishGraphModel(humanModel('emotion'), join(repoDir, 'emotion'));
  });
  after(removeTempDirs);

  test('32 concurrent requests are batched; outputs equal unbatched outputs row for row; a bad request fails alone', async () => {
    const app = await openLibraryPage(repoDir);
    try {
      const batched = await burst(app.page, 32, { enableBatching: true, batchingParameters: { maxBatchSize: 32, batchTimeoutMicros: 5000, allowedBatchSizes: [8, 16, 32] } }, 5);
      const plain = await burst(app.page, 32, {}, 5);
      assert.ok(batched.batches && batched.batches.count < 31, `31 good rows ran in ${batched.batches?.count} batches`);
      assert.equal(batched.batches!.sum, 31, 'the bad request never joined a batch');
      for (let i = 0; i < 32; i++) {
        const [a, b] = [batched.outcomes[i]!, plain.outcomes[i]!];
        if (i === 5) {
          assert.equal(a.ok, false);
          assert.equal(a.code, 'INVALID_ARGUMENT');
          assert.match(a.message!, /input "input_1:0" has shape \[1,64,64,3\], which holds 12288 values, but 4096 values were given/);
          continue;
        }
        assert.ok(a.ok && b.ok, `request ${i}: ${a.message ?? ''}${b.message ?? ''}`);
        for (let k = 0; k < 7; k++) assert.ok(Math.abs(a.values![k]! - b.values![k]!) < 1e-5, `row ${i}, class ${k}: ${a.values![k]} vs ${b.values![k]}`);
      }
    } finally {
      await app.close();
    }
  });

  test('a full queue rejects at once with UNAVAILABLE; everything accepted is answered (WebGPU)', async () => {
    // On WebGPU a batch runs asynchronously (the GPU queue, then a readback), so requests keep arriving
    // while it runs — the case a bounded queue exists for.
    const app = await openLibraryPage(repoDir, { webgpu: true });
    try {
      const r = await burst(app.page, 48, { backends: ['webgpu'], enableBatching: true, batchingParameters: { maxBatchSize: 2, maxEnqueuedBatches: 1, batchTimeoutMicros: 0 } });
      assert.equal(r.backend, 'webgpu');
      const rejected = r.outcomes.filter((o) => !o.ok);
      const accepted = r.outcomes.filter((o) => o.ok);
      assert.ok(rejected.length > 0, 'some requests found the queue full');
      for (const o of rejected) {
        assert.equal(o.code, 'UNAVAILABLE');
        assert.match(o.message!, /The batch scheduling queue to which this task was submitted is full/);
      }
      assert.ok(accepted.length > 0);
      assert.ok(accepted.every((o) => o.values!.length === 7 && Math.abs(o.values!.reduce((a, b) => a + b, 0) - 1) < 1e-4));
    } finally {
      await app.close();
    }
  });
});
