// LoadFailureEvent: each failed load attempt of a real version (a broken warmup.json) is an event
// with its attempt, the retries left and the reason; with waitForLoadRetries: false `start` resolves
// after the first attempt while the version waits to retry, and close() ends the wait.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LoadFailureEvent, LocalModelServer } from '../../src/node.js';
import type { LoadFailureEventInit } from '../../src/node.js';
import { DENSE_MODEL_DIR, removeTempDirs, tempDir } from '../helpers/models.js';

after(() => removeTempDirs());

test('waitForLoadRetries: false — start resolves after the first failed attempt; each attempt fires loadfailure', async () => {
  const base = join(await tempDir('loadfailure'), 'm');
  await mkdir(join(base, '1'), { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  await writeFile(join(base, '1', 'warmup.json'), '{"requests": 7}');
  const seen: LoadFailureEventInit[] = [];
  const baseline = tf.memory().numTensors;
  const started = Date.now();
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: base }],
    backends: ['cpu'],
    pollIntervalMs: 0,
    maxNumLoadRetries: 3,
    loadRetryIntervalMs: 60_000,
    waitForLoadRetries: false,
    listeners: { loadfailure: (e) => seen.push(e.toInit()) },
  });
  try {
    assert.ok(Date.now() - started < 30_000, 'start did not wait for the retries (3 × 60 s)');
    assert.equal(seen.length, 1);
    assert.deepEqual({ ...seen[0], message: undefined }, { model: 'm', version: 1, attempt: 1, retriesLeft: 3, retryInMs: 60_000, code: 'INVALID_ARGUMENT', message: undefined });
    assert.match(seen[0]?.message ?? '', /warmup\.json must be \{"requests"/);
    assert.equal((await server.getModelStatus('m')).model_version_status[0]?.state, 'LOADING');
    // The event class round-trips its data (what crosses a worker).
    const again = new LoadFailureEvent(seen[0]!); // seen[0] checked above
    assert.equal(again.type, 'loadfailure');
    assert.deepEqual(again.toInit(), seen[0]);
  } finally {
    await server.close();
  }
  assert.equal(tf.memory().numTensors, baseline, 'a failed load leaves no tensors');
});

test('by default start waits through the retries, and the last attempt says no retries are left', async () => {
  const base = join(await tempDir('loadfailure'), 'm');
  await mkdir(join(base, '1'), { recursive: true });
  await cp(DENSE_MODEL_DIR, join(base, '1'), { recursive: true });
  await writeFile(join(base, '1', 'warmup.json'), 'not json');
  const seen: LoadFailureEventInit[] = [];
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: base }],
    backends: ['cpu'],
    pollIntervalMs: 0,
    maxNumLoadRetries: 1,
    loadRetryIntervalMs: 10,
    listeners: { loadfailure: (e) => seen.push(e.toInit()) },
  });
  try {
    assert.deepEqual(seen.map((e) => [e.attempt, e.retriesLeft, e.retryInMs]), [[1, 1, 10], [2, 0, 0]]);
    const status = (await server.getModelStatus('m')).model_version_status[0];
    assert.equal(status?.state, 'END');
    assert.equal(status?.status.error_code, 'INVALID_ARGUMENT');
  } finally {
    await server.close();
  }
});
