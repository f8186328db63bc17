// LatestAnswer (pure logic; the real thing is tested through serve in test/hardening/inference-thread.test.ts):
// the first get waits; later ones get the fresh answer within waitMs or else the last one; one question at a time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatestAnswer } from '../../src/worker-client/latest-answer.js';

test('LatestAnswer: waits for the first answer, then falls back to the last one when the source is slow', async () => {
  let asked = 0;
  let release: ((v: number) => void) | undefined;
  const slow = new LatestAnswer<number>(() => {
    asked++;
    return new Promise<number>((resolve) => (release = resolve));
  }, 10);
  const first = slow.get();
  release?.(1);
  assert.equal(await first, 1);
  // The source does not answer now: the last value, after waitMs.
  assert.equal(await slow.get(), 1);
  assert.equal(await slow.get(), 1);
  assert.equal(asked, 2, 'one question in flight at a time');
  release?.(2);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(await Promise.race([slow.get(), new Promise((r) => setTimeout(() => r('late'), 5))]), 'late');
  release?.(3);
  assert.equal(await slow.get(), 3, 'a source that answers in time gives its fresh value');
  // A failing source falls back to the last answer too.
  let tries = 0;
  const failing = new LatestAnswer<string>(() => (tries++ % 2 ? Promise.reject(new Error('busy')) : Promise.resolve('ok')), 10);
  assert.equal(await failing.get(), 'ok');
  assert.equal(await failing.get(), 'ok', 'the second question fails: the last answer');
  assert.equal(tries, 2);
});

test('refresh asks at most once per minRefreshMs: a burst of refreshes is one question when the interval ends', async () => {
  let asked = 0;
  const counted = new LatestAnswer<number>(() => Promise.resolve(++asked), 10, 50);
  assert.equal(await counted.get(), 1);
  for (let i = 0; i < 100; i++) counted.refresh();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(asked, 1, 'a fresh value is not asked for again at once');
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(asked, 2, 'the burst became one question once the interval passed');
  assert.equal(await counted.get(), 3, 'get still asks');
});
