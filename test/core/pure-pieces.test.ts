// Direct unit tests of the pure pieces TF Serving tests directly: both aspired-version policies (cases
// after availability_preserving_policy_test.cc and resource_preserving_policy_test.cc), version
// selection, labels, and the loader harness's state machine. Plus the manager's ServableData errors
// and its retry wait on an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AspiredServableStateSnapshot } from '../../src/core/aspired-version-policy.js';
import { availabilityPreservingPolicy } from '../../src/core/availability-preserving-policy.js';
import { resourcePreservingPolicy } from '../../src/core/resource-preserving-policy.js';
import type { HarnessState } from '../../src/core/loader-harness.js';
import { LoaderHarness } from '../../src/core/loader-harness.js';
import { selectVersions, validateVersionPolicy } from '../../src/core/servable-version-policy.js';
import { checkLabelsPointAtAvailable, resolveVersionLabel, validateVersionLabels } from '../../src/core/version-labels.js';
import { AspiredVersionsManager } from '../../src/core/aspired-versions-manager.js';
import type { Clock } from '../../src/core/clock.js';
import type { Loader } from '../../src/core/loader.js';
import { ServingError } from '../../src/core/status.js';

const v = (version: number, state: HarnessState, isAspired: boolean): AspiredServableStateSnapshot => ({ id: { name: 'm', version }, state, isAspired });
const next = (policy: typeof availabilityPreservingPolicy, versions: AspiredServableStateSnapshot[]) => {
  const a = policy.getNextAction(versions);
  return a && `${a.action} ${a.id.version}`;
};

test('availability-preserving policy: load new before unloading old; unload when an aspired version serves', () => {
  const p = availabilityPreservingPolicy;
  assert.equal(next(p, [v(1, 'ready', false), v(2, 'new', true)]), 'load 2'); // UnaspiredServingAspiredNew
  assert.equal(next(p, [v(1, 'error', false), v(2, 'new', true)]), 'load 2'); // UnaspiredFailedAspiredNew
  assert.equal(next(p, [v(1, 'disabled', false), v(2, 'new', true)]), 'load 2');
  assert.equal(next(p, [v(1, 'ready', false), v(2, 'ready', true)]), 'unload 1'); // AspiredServing
  assert.equal(next(p, [v(1, 'ready', false), v(2, 'ready', false), v(3, 'new', true)]), 'unload 1'); // MultipleUnaspiredServing: the lowest
  assert.equal(next(p, [v(1, 'ready', false)]), 'unload 1'); // NoAspired
  assert.equal(next(p, [v(1, 'ready', false), v(2, 'loading', true)]), undefined); // wait for the load
  assert.equal(next(p, [v(1, 'new', true), v(2, 'new', true)]), 'load 2'); // the highest new first
  assert.equal(next(p, [v(1, 'ready', true)]), undefined);
  assert.equal(next(p, []), undefined);
});

test('resource-preserving policy: unload first, load only once nothing unaspired holds resources', () => {
  const p = resourcePreservingPolicy;
  assert.equal(next(p, [v(1, 'ready', false), v(2, 'new', true)]), 'unload 1');
  assert.equal(next(p, [v(1, 'quiescing', false), v(2, 'new', true)]), undefined);
  assert.equal(next(p, [v(1, 'unloading', false), v(2, 'new', true)]), undefined);
  assert.equal(next(p, [v(1, 'disabled', false), v(2, 'new', true)]), 'load 2');
  assert.equal(next(p, [v(1, 'error', false), v(2, 'new', true)]), 'load 2');
  assert.equal(next(p, [v(1, 'new', true), v(3, 'new', true)]), 'load 3');
});

test('version selection: latest N, all, specific — among what exists, ascending', () => {
  assert.deepEqual(selectVersions({ latest: { numVersions: 1 } }, [3, 1, 2]), [3]);
  assert.deepEqual(selectVersions({ latest: { numVersions: 2 } }, [3, 1, 2, 2]), [2, 3]);
  assert.deepEqual(selectVersions({ latest: { numVersions: 5 } }, [7]), [7]);
  assert.deepEqual(selectVersions({ all: {} }, [3, 1, 2]), [1, 2, 3]);
  assert.deepEqual(selectVersions({ specific: { versions: [1, 4] } }, [1, 2, 3]), [1]);
  assert.deepEqual(selectVersions({ latest: { numVersions: 1 } }, []), []);
  assert.deepEqual(validateVersionPolicy(undefined, 'm'), { latest: { numVersions: 1 } });
  assert.deepEqual(validateVersionPolicy({ specific: { versions: [2, 1, 2] } }, 'm'), { specific: { versions: [1, 2] } });
  assert.throws(() => validateVersionPolicy({ latest: {}, all: {} }, 'm'), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /exactly one of latest, all, specific/.test(e.message));
  assert.throws(() => validateVersionPolicy({ specific: { versions: [-1] } }, 'm'), (e: ServingError) => e.code === 'INVALID_ARGUMENT');
});

test('labels: syntax, resolution, and only AVAILABLE targets (unless new and allowed)', () => {
  assert.deepEqual(validateVersionLabels({ stable: 1, canary_2: 2 }, 'm'), { stable: 1, canary_2: 2 });
  assert.throws(() => validateVersionLabels({ 'bad-label': 1 }, 'm'), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /bad-label/.test(e.message));
  assert.throws(() => validateVersionLabels({ stable: 1.5 }, 'm'), (e: ServingError) => e.code === 'INVALID_ARGUMENT');
  assert.equal(resolveVersionLabel('m', { stable: 3 }, 'stable'), 3);
  assert.throws(() => resolveVersionLabel('m', { stable: 3 }, 'toString'), (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /Unrecognized servable version label: toString/.test(e.message));
  checkLabelsPointAtAvailable('m', { stable: 1 }, {}, [1, 2], false);
  checkLabelsPointAtAvailable('m', { stable: 1 }, { stable: 1 }, [2], false); // unchanged labels stay valid
  checkLabelsPointAtAvailable('m', { canary: 7 }, {}, [1], true); // a new label, allowed
  assert.throws(() => checkLabelsPointAtAvailable('m', { canary: 7 }, {}, [1], false), (e: ServingError) => e.code === 'FAILED_PRECONDITION' && /version 7 of model m/.test(e.message));
  assert.throws(() => checkLabelsPointAtAvailable('m', { stable: 3 }, { stable: 1 }, [1], true), (e: ServingError) => e.code === 'FAILED_PRECONDITION'); // moving an existing one
});

const loader: Loader<string> = { estimateResources: async () => ({ ramBytes: 1 }), load: async () => 'servable', unload: async () => undefined };

test('loader harness: the legal path, handles only while ready, and every illegal move refused with INTERNAL', async () => {
  const h = new LoaderHarness<string>({ name: 'm', version: 1 }, loader);
  assert.equal(h.state, 'new');
  assert.throws(() => h.acquire(), (e: ServingError) => e.code === 'NOT_FOUND');
  assert.throws(() => h.loadSucceeded('x'), (e: ServingError) => e.code === 'INTERNAL' && /illegal transition new → ready/.test(e.message));
  assert.throws(() => h.startQuiescing(), (e: ServingError) => e.code === 'INTERNAL');
  h.loadRequested();
  assert.throws(() => h.loadRequested(), (e: ServingError) => e.code === 'INTERNAL' && /loading → loading/.test(e.message));
  h.loadSucceeded('servable');
  assert.equal(h.state, 'ready');
  const handle = h.acquire();
  assert.equal(handle.servable, 'servable');
  assert.throws(() => h.errored(new ServingError('UNKNOWN', 'x')), (e: ServingError) => e.code === 'INTERNAL' && /ready → error/.test(e.message));
  h.startQuiescing();
  assert.throws(() => h.acquire(), (e: ServingError) => e.code === 'NOT_FOUND');
  let drained = false;
  const waiting = h.waitUntilDrained().then(() => (drained = true));
  await Promise.resolve();
  assert.equal(drained, false, 'a held handle keeps the version from draining');
  handle.release();
  handle.release(); // a second release does nothing
  await waiting;
  assert.equal(h.activeRequests, 0);
  assert.throws(() => h.unloaded(), (e: ServingError) => e.code === 'INTERNAL' && /quiescing → disabled/.test(e.message));
  h.doneQuiescing();
  h.unloaded();
  assert.equal(h.state, 'disabled');
  assert.equal(h.servable, undefined);

  const failed = new LoaderHarness<string>({ name: 'm', version: 2 }, loader);
  failed.errored(new ServingError('DATA_LOSS', 'bad shard'));
  assert.equal(failed.state, 'error');
  assert.equal(failed.error?.code, 'DATA_LOSS');
  assert.throws(() => failed.loadRequested(), (e: ServingError) => e.code === 'INTERNAL');
});

test('ServableData: an aspired version with an error is published as START with it, never loaded; what serves keeps serving', async () => {
  const m = new AspiredVersionsManager<string>();
  const loads: number[] = [];
  const loaderOf = (n: number): Loader<string> => ({ ...loader, load: async () => (loads.push(n), `v${n}`) });
  m.setAspiredVersions('m', [{ version: 1, loader: loaderOf(1) }]);
  await m.whenIdle();
  m.setAspiredVersions('m', [{ version: 1, loader: loaderOf(1) }, { version: 2, error: new ServingError('DATA_LOSS', 'sha256 mismatch') }]);
  await m.whenIdle();
  const v2 = m.monitor.getState('m', 2);
  assert.equal(v2?.managerState, 'START');
  assert.equal(v2?.health.error_code, 'DATA_LOSS');
  assert.deepEqual(loads, [1]);
  const h = m.getServableHandle({ name: 'm' });
  assert.equal(h.servable, 'v1');
  h.release();
  // The error never overrides a version the manager holds.
  m.setAspiredVersions('m', [{ version: 1, error: new ServingError('UNAVAILABLE', 'repository down') }, { version: 1, loader: loaderOf(1) }]);
  await m.whenIdle();
  assert.equal(m.monitor.getState('m', 1)?.managerState, 'AVAILABLE');
  await m.close();
});

/** A clock whose timers fire only when the test advances it. */
class FakeClock implements Clock {
  time = 0;
  private timers: Array<{ at: number; fn: () => void }> = [];
  now() {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number) {
    const t = { at: this.time + ms, fn };
    this.timers.push(t);
    return t;
  }
  clearTimeout(handle: unknown) {
    this.timers = this.timers.filter((t) => t !== handle);
  }
  get pending() {
    return this.timers.length;
  }
  advance(ms: number) {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }
}

test('the retry wait runs on the injected clock: no retry until the clock moves by loadRetryIntervalMs', async () => {
  const clock = new FakeClock();
  let attempts = 0;
  const flaky: Loader<string> = { ...loader, load: async () => (++attempts === 1 ? Promise.reject(new Error('transient')) : 'ok') };
  const m = new AspiredVersionsManager<string>({ clock, loadRetryIntervalMs: 60_000, maxNumLoadRetries: 2 });
  m.setAspiredVersions('m', [{ version: 1, loader: flaky }]);
  for (let i = 0; i < 20 && clock.pending === 0; i++) await new Promise((r) => setImmediate(r));
  assert.equal(attempts, 1);
  assert.equal(clock.pending, 1, 'the manager waits on the clock');
  clock.advance(59_999);
  await new Promise((r) => setImmediate(r));
  assert.equal(attempts, 1, 'not before the interval');
  clock.advance(1);
  await m.whenIdle();
  assert.equal(attempts, 2);
  assert.equal(m.monitor.getState('m', 1)?.managerState, 'AVAILABLE');
  await m.close();
});
