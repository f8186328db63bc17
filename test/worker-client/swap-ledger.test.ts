// The page's bookkeeping of a fresh-worker swap (pure logic; the browser test drives it for real).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwapLedger } from '../../src/worker-client/swap-ledger.js';

/** A ledger whose serving worker has `a` v1 and `b` v5 AVAILABLE. */
function serving(): SwapLedger {
  const ledger = new SwapLedger();
  for (const [m, v] of [['a', 1], ['b', 5]] as const) for (const s of ['START', 'LOADING', 'AVAILABLE'] as const) ledger.fromServing(m, v, s);
  return ledger;
}

test('the fresh worker reports only versions the page does not have AVAILABLE; the move ends the ones it does not serve', () => {
  const ledger = serving();
  const heard = (m: string, v: number, s: 'START' | 'LOADING' | 'AVAILABLE') => ledger.fromFresh(m, v, s);
  assert.deepEqual([heard('b', 5, 'START'), heard('b', 5, 'LOADING'), heard('b', 5, 'AVAILABLE')], [false, false, false], 'b v5 moves: not reported twice');
  assert.equal(ledger.progressFromFresh('b', 5), false);
  assert.equal(ledger.progressFromFresh('a', 2), true);
  assert.deepEqual([heard('a', 2, 'START'), heard('a', 2, 'LOADING')], [true, true]);
  assert.deepEqual(ledger.uncovered(), ['a'], 'a has nothing AVAILABLE in the fresh worker yet');
  assert.equal(heard('a', 2, 'AVAILABLE'), true);
  assert.deepEqual(ledger.uncovered(), []);
  assert.deepEqual(ledger.move(), [{ model: 'a', version: 1 }]);
  // After the move the fresh worker's states are the page's: a later swap starts from them.
  assert.equal(ledger.fromFresh('a', 2, 'AVAILABLE'), false);
  assert.deepEqual(ledger.move(), [{ model: 'b', version: 5 }], 'b v5 is not in this fresh worker');
});

test('a refused fresh worker: its new versions end, the page keeps what it had', () => {
  const ledger = serving();
  ledger.fromFresh('a', 2, 'START');
  ledger.fromFresh('a', 2, 'LOADING');
  ledger.fromFresh('b', 5, 'AVAILABLE');
  assert.deepEqual(ledger.refuse(), [{ model: 'a', version: 2, state: 'LOADING' }]);
  assert.deepEqual(ledger.uncovered(), ['a', 'b'], "the next fresh worker starts from nothing");
  // A version that already ended in the fresh worker is not ended twice.
  ledger.fromFresh('a', 3, 'START');
  ledger.fromFresh('a', 3, 'END');
  assert.deepEqual(ledger.refuse(), []);
  assert.deepEqual(ledger.move(), [{ model: 'a', version: 1 }, { model: 'b', version: 5 }], 'the page still had both AVAILABLE');
});

test('a fresh worker refused before it told anything: the held-back versions the page never heard of end from START', () => {
  const ledger = serving();
  // a v1 is AVAILABLE on the page; the serving worker held back a v1+v2 (v1 is not new, v2 is).
  assert.deepEqual(ledger.refuse({ model: 'a', versions: [1, 2] }), [{ model: 'a', version: 2, state: 'START' }]);
  assert.deepEqual(ledger.refuse({ model: 'a', versions: [1, 2] }), [], 'v2 ended once');
});
