// swapMode 'fresh-worker' in Node, with real parts: a repository on a real HTTP server on 127.0.0.1,
// the HttpSource, a file-system store, TF.js on wasm. The serving server's SwapGate holds back the new
// version (downloaded, not loaded); a second server standing for the fresh worker loads it from the
// store without downloading it again; closing the old one gives its tensors back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LocalModelServer } from '../../src/index.js';
import { registerSourceFactory } from '../../src/server/source-registry.js';
import { ServingError } from '../../src/core/status.js';
import { SwapGate, gatedSourceFactory } from '../../worker/swap-gate.js';
import { harness, predictDense, recordTransitions, valueOf } from '../helpers/serving.js';

const h = await harness();
after(() => h.close());

const held: string[] = [];
const gate = new SwapGate((model, versions) => held.push(`${model}:${versions.join(',')}`));
registerSourceFactory(gatedSourceFactory(gate));

test('the gate holds a swap back; a fresh server loads it from the store; closing the old one frees its tensors', async () => {
  await h.publishDense('m', 1);
  const old = await h.start({});
  gate.close();
  const events = recordTransitions(old);
  assert.equal(valueOf(await predictDense(old, 2)), 2);
  const withOne = tf.memory().numTensors;

  await h.publishDense('m', 2);
  await old.pollNow();
  assert.deepEqual(held, ['m:2'], 'the swap was held back and told');
  assert.deepEqual(events, [], 'the old server loaded nothing');
  assert.equal((await predictDense(old, 2)).model.version, 1, 'version 1 keeps serving');
  assert.deepEqual((await old.sourceState('m')).storedVersions, [1, 2], 'version 2 was downloaded into the store');
  assert.equal(tf.memory().numTensors, withOne);

  // A poll that finds nothing new holds the same versions again (the page does not retry them).
  await old.pollNow();
  assert.deepEqual(held, ['m:2', 'm:2']);

  const v2Gets = () => h.repo.requests.filter((r) => r.path.startsWith('/m/2/') && r.status === 200).length;
  const downloaded = v2Gets();
  assert.ok(downloaded > 0, 'the old server downloaded version 2');
  const fresh = await h.start({});
  assert.equal(v2Gets(), downloaded, 'the fresh server loaded version 2 from the store, no second download');
  const answer = await predictDense(fresh, 2);
  assert.deepEqual([answer.model.version, valueOf(answer)], [2, 4]);
  assert.deepEqual(held, ['m:2', 'm:2'], "a new source's first versions pass");

  await old.close();
  assert.equal(tf.memory().numTensors, withOne, 'one version loaded again once the old server closed');
});

test('errors and retirements pass the closed gate (they load nothing)', async () => {
  const forwarded: number[][] = [];
  const g = new SwapGate(() => assert.fail('nothing is held'));
  g.close();
  const before = new Set([1]);
  const error = new ServingError('UNAVAILABLE', 'download failed');
  const passed = g.offer('m', [{ version: 2, error }], before, (_m, v) => forwarded.push(v.map((x) => x.version)));
  assert.deepEqual(forwarded, [[2]]);
  assert.deepEqual([...(passed ?? [])], []);
  g.offer('m', [], before, (_m, v) => forwarded.push(v.map((x) => x.version)));
  assert.deepEqual(forwarded, [[2], []]);
});

test("swapMode is checked: 'fresh-worker' needs worker mode, other values are refused", async () => {
  const options = { modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m') }] };
  await assert.rejects(LocalModelServer.start({ ...options, swapMode: 'fresh-worker' }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /needs worker mode/.test(e.message));
  // @ts-expect-error: a value the type refuses, as plain JavaScript could pass it
  await assert.rejects(LocalModelServer.start({ ...options, swapMode: 'fresh' }), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /swapMode must be "in-place" or "fresh-worker", got "fresh"/.test(e.message));
});
