// The model lifecycle end to end: real CLI publisher, real HTTP server on 127.0.0.1, real TF.js graph
// models on the wasm backend, a file-system store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { harness, predictDense, recordTransitions, valueOf } from '../helpers/serving.js';
import { denseExpected } from '../helpers/models.js';
import type { VersionStateEvent } from '../../src/index.js';

test('publish v1 → served; publish v2 under 8 looping callers → zero failures, v1 unloaded after its last request', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const transitions = recordTransitions(server);
    assert.equal(server.backend, 'wasm');
    const first = await predictDense(server, 3);
    assert.equal(first.model.version, 1);
    assert.equal(first.model.signatureName, 'serving_default');
    assert.equal(valueOf(first), denseExpected(1, 0, 3));
    assert.deepEqual((await server.getModelStatus('m')), {
      model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });

    // 8 callers predict in a loop while v2 is published, downloaded, loaded and swapped in.
    let stop = false;
    let failures = 0;
    const completions: Array<{ version: number; at: number }> = [];
    let v1EndAt = Number.POSITIVE_INFINITY;
    server.addEventListener('end', (e) => {
      if ((e as VersionStateEvent).version === 1) v1EndAt = performance.now();
    });
    const callers = Array.from({ length: 8 }, async (_, i) => {
      while (!stop) {
        try {
          const r = await predictDense(server, i + 1);
          assert.equal(valueOf(r), denseExpected(r.model.version, 0, i + 1), 'each answer comes from the version it names');
          completions.push({ version: r.model.version, at: performance.now() });
        } catch (e) {
          failures++;
          console.error(e);
        }
        await new Promise((r) => setImmediate(r));
      }
    });
    await new Promise((r) => setTimeout(r, 50));
    await h.publishDense('m', 2);
    await server.pollNow('m');
    await server.whenIdle();
    await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(callers);

    assert.equal(failures, 0);
    const v1 = completions.filter((c) => c.version === 1);
    const v2 = completions.filter((c) => c.version === 2);
    assert.ok(v1.length > 0 && v2.length > 0, `both versions answered (v1 ${v1.length}, v2 ${v2.length})`);
    assert.ok(v1.every((c) => c.at <= v1EndAt), 'v1 reached END only after its last request finished');
    assert.deepEqual(transitions, ['m/2:START', 'm/2:LOADING', 'm/2:AVAILABLE', 'm/1:UNLOADING', 'm/1:END']);
    assert.deepEqual((await server.getModelStatus('m')).model_version_status.map((s) => `${s.version}:${s.state}`), ['2:AVAILABLE', '1:END']);
    assert.equal(valueOf(await predictDense(server, 5)), denseExpected(2, 0, 5));
    // v1 left the store once unloaded (latest 1 no longer wants it).
    await server.whenIdle();
    assert.deepEqual(await server.store.listVersions('m'), [2]);
    assert.deepEqual((await server.sourceState('m')).publishedVersions, [1, 2]);
  } finally {
    await h.close();
  }
});

test('download progress is reported in bytes and the manifest poll is conditional (ETag → 304)', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const progress: number[] = [];
    // Downloads only: load and warmup report progress of their own (test/server/progress.test.ts).
    server.addEventListener('progress', (e) => e.phase === 'download' && progress.push(e.loadedBytes));
    await server.pollNow();
    await server.pollNow();
    assert.equal(h.repo.count('/m/manifest.json', 304), 2, 'unchanged manifest answered 304');
    await h.publishDense('m', 2);
    await server.pollNow();
    assert.equal(h.repo.count('/m/manifest.json', 200), 2);
    assert.equal(progress[0], 0);
    const total = (await server.store.getVersion('m', 2))!.files.reduce((s, f) => s + f.size, 0);
    assert.equal(progress.at(-1), total);
    assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress only grows');
  } finally {
    await h.close();
  }
});

test('a running poll timer picks up a new version by itself', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({ pollIntervalMs: 50 });
    await h.publishDense('m', 2);
    await new Promise<void>((resolve) =>
      server.addEventListener('available', (e) => (e as VersionStateEvent).version === 2 && resolve()),
    );
    assert.equal((await predictDense(server, 1)).model.version, 2);
  } finally {
    await h.close();
  }
});

test('no tensor leaks after 1000 predictions and 10 swaps', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const baseline = tf.memory().numTensors;
    const weightsPerVersion = 2;
    for (let i = 0; i < 1000; i++) await predictDense(server, i % 7);
    assert.equal(tf.memory().numTensors, baseline, 'predictions leave no tensor behind');
    for (let v = 2; v <= 11; v++) {
      await h.publishDense('m', v);
      await server.pollNow();
      await Promise.all(Array.from({ length: 10 }, (_, i) => predictDense(server, i)));
      assert.equal((await predictDense(server, 1)).model.version, v);
    }
    await server.whenIdle();
    assert.equal(tf.memory().numTensors, baseline, `one version (${weightsPerVersion} weights) loaded, as at the start`);
    await server.close();
    assert.equal(tf.memory().numTensors, baseline - weightsPerVersion, 'closing disposes the last version');
  } finally {
    await h.close();
  }
});
