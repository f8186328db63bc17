// The on-demand policy's own logic, on TF Serving's real AspiredVersionsManager with loaders whose loads
// finish when the test says (the end-to-end tests with real models are on-demand.test.ts, the CLI's
// on-demand-serve.test.ts and the browser's on-demand.browser.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AspiredVersionsManager } from '../../src/core/aspired-versions-manager.js';
import type { Loader } from '../../src/core/loader.js';
import { ResourceTracker } from '../../src/core/resource-tracker.js';
import { ServingError } from '../../src/core/status.js';
import { OnDemandLoader } from '../../src/server/on-demand-loader.js';

/** A loader of `bytes` whose load waits for `gate` (open by default). */
class GatedLoader implements Loader<string> {
  static gate: Promise<void> = Promise.resolve();
  constructor(
    readonly name: string,
    readonly bytes: number,
    readonly log: string[],
  ) {}
  async estimateResources() {
    return { ramBytes: this.bytes };
  }
  async load() {
    await GatedLoader.gate;
    this.log.push(`load ${this.name}`);
    return `servable ${this.name}`;
  }
  async unload() {
    this.log.push(`unload ${this.name}`);
  }
}

function setUp(budget: number) {
  const log: string[] = [];
  const counts: string[] = [];
  const manager = new AspiredVersionsManager<string>({ resourceTracker: new ResourceTracker(budget) });
  const loader = new OnDemandLoader<string>({
    manager,
    budgetBytes: budget,
    makeLoader: (name) => new GatedLoader(name, 100, log),
    metrics: {
      hit: (m) => counts.push(`hit ${m}`),
      miss: (m) => counts.push(`miss ${m}`),
      load: (m) => counts.push(`load ${m}`),
      eviction: (m) => counts.push(`evict ${m}`),
    },
  });
  for (const name of ['a', 'b', 'c']) loader.setAspiredVersions(name, [{ version: 1, loader: new GatedLoader(name, 100, log) }]);
  return { log, counts, manager, loader };
}

test('a busy least recently used model is passed over for an idle one, and a busy victim unloads only after its request', async () => {
  const { log, manager, loader } = setUp(250);
  const a = await loader.handle({ name: 'a' }, undefined, true); // a stays busy
  (await loader.handle({ name: 'b' }, undefined, true)).release();
  (await loader.handle({ name: 'c' }, undefined, true)).release(); // a is LRU but busy: b goes
  await manager.whenIdle();
  assert.deepEqual(log, ['load a', 'load b', 'unload b', 'load c']);
  assert.deepEqual(loader.residentModels(), ['a', 'c']);
  // Now both residents are busy; b needs room: the LRU one (a) is unaspired, unloaded once released.
  const c = await loader.handle({ name: 'c' }, undefined, true);
  const b = loader.handle({ name: 'b' }, undefined, true);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(manager.monitor.getState('a', 1)?.managerState, 'UNLOADING', 'a waits for its request');
  assert.ok(!log.includes('unload a'));
  assert.equal(a.servable, 'servable a', 'the in-flight request still has its servable');
  a.release();
  (await b).release();
  c.release();
  assert.deepEqual(log.slice(4), ['unload a', 'load b']);
});

test('a deadline that passes while the load runs → DEADLINE_EXCEEDED; the load finishes; a request waiting with a later deadline gets its handle', async () => {
  const { counts, loader } = setUp(250);
  let open = () => {};
  GatedLoader.gate = new Promise((r) => (open = r));
  try {
    const early = loader.handle({ name: 'a' }, { deadline: Date.now() + 30 }, true);
    const late = loader.handle({ name: 'a' }, { deadline: Date.now() + 10_000 }, true);
    await assert.rejects(early, (e: ServingError) => e.code === 'DEADLINE_EXCEEDED' && /while its model was being loaded on demand/.test(e.message));
    open();
    const h = await late;
    assert.equal(h.servable, 'servable a');
    h.release();
    (await loader.handle({ name: 'a' }, undefined, true)).release();
    assert.deepEqual(counts, ['load a', 'miss a', 'miss a', 'hit a']);
  } finally {
    GatedLoader.gate = Promise.resolve();
  }
});

test('a model bigger than the budget → RESOURCE_EXHAUSTED; a version the source does not aspire → NOT_FOUND without loading', async () => {
  const { counts, loader } = setUp(50);
  await assert.rejects(loader.handle({ name: 'a' }, undefined, true), (e: ServingError) => e.code === 'RESOURCE_EXHAUSTED' && /needs an estimated 100 bytes.*50-byte/.test(e.message));
  await assert.rejects(loader.handle({ name: 'b', version: 9 }, undefined, true), (e: ServingError) => e.code === 'NOT_FOUND');
  assert.deepEqual(counts, ['miss a']);
});

test('a failed load answers its waiters with the load error, frees its bytes, and the next request loads anew', async () => {
  const log: string[] = [];
  let failures = 1;
  const manager = new AspiredVersionsManager<string>({ resourceTracker: new ResourceTracker(150), maxNumLoadRetries: 0 });
  const loader = new OnDemandLoader<string>({
    manager,
    budgetBytes: 150,
    makeLoader: (name) => {
      const inner = new GatedLoader(name, 100, log);
      return {
        estimateResources: () => inner.estimateResources(),
        load: () => (failures-- > 0 ? Promise.reject(new ServingError('DATA_LOSS', 'the weights are torn')) : inner.load()),
        unload: () => inner.unload(),
      };
    },
    metrics: { hit: () => {}, miss: () => {}, load: () => {}, eviction: () => {} },
  });
  loader.setAspiredVersions('a', [{ version: 1, loader: new GatedLoader('a', 100, log) }]);
  await assert.rejects(loader.handle({ name: 'a' }, undefined, true), (e: ServingError) => e.code === 'DATA_LOSS' && /version 1 failed: .*the weights are torn/.test(e.message));
  assert.equal(loader.residentBytes, 0, 'a failed model holds no budget');
  const h = await loader.handle({ name: 'a' }, undefined, true);
  assert.equal(h.servable, 'servable a');
  h.release();
  assert.deepEqual(log, ['load a']);
});

test('close: a request waiting for room fails with FAILED_PRECONDITION instead of waiting forever', async () => {
  const { loader } = setUp(150);
  const a = await loader.handle({ name: 'a' }, undefined, true);
  let open = () => {};
  GatedLoader.gate = new Promise((r) => (open = r));
  try {
    // b's load holds the only room while pinned by its waiter; c must wait for it.
    a.release();
    const b = loader.handle({ name: 'b' }, undefined, true);
    const c = loader.handle({ name: 'c' }, undefined, true);
    await new Promise((r) => setTimeout(r, 20));
    loader.close();
    open();
    (await b).release();
    await assert.rejects(c, (e: ServingError) => e.code === 'FAILED_PRECONDITION' && /closed/.test(e.message));
  } finally {
    GatedLoader.gate = Promise.resolve();
  }
});

test('a new version of a loaded model makes room for the swap: the LRU other model goes, and the manager swaps without RESOURCE_EXHAUSTED', async () => {
  const { log, manager, loader } = setUp(250);
  (await loader.handle({ name: 'b' }, undefined, true)).release();
  (await loader.handle({ name: 'a' }, undefined, true)).release();
  // The source publishes a v2 (latest 1): availability-preserving holds v1 and v2 for a moment.
  loader.setAspiredVersions('a', [{ version: 2, loader: new GatedLoader('a', 100, log) }]);
  await new Promise((r) => setTimeout(r, 20));
  await manager.whenIdle();
  assert.equal(manager.monitor.getState('a', 2)?.managerState, 'AVAILABLE', JSON.stringify(manager.monitor.getState('a', 2)));
  assert.deepEqual(log, ['load b', 'load a', 'unload b', 'load a', 'unload a']);
  assert.deepEqual(loader.residentModels(), ['a']);
  assert.equal(loader.residentBytes, 100, 'v1 no longer counts once unloaded');
  const h = await loader.handle({ name: 'a' }, undefined, true);
  assert.equal(h.id.version, 2);
  h.release();
});

test('an admission whose waiters all gave up evicts nothing and loads nothing', async () => {
  const { counts, manager, loader } = setUp(150);
  let open = () => {};
  GatedLoader.gate = new Promise((r) => (open = r));
  try {
    const a = loader.handle({ name: 'a' }, undefined, true); // a loads (slowly) and holds the room
    await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(loader.handle({ name: 'b' }, { deadline: Date.now() + 30 }, true), (e: ServingError) => e.code === 'DEADLINE_EXCEEDED');
    open();
    (await a).release();
    await new Promise((r) => setTimeout(r, 20));
    await manager.whenIdle();
    assert.deepEqual(counts.filter((c) => c.startsWith('load') || c.startsWith('evict')), ['load a']);
    assert.deepEqual(loader.residentModels(), ['a']);
  } finally {
    GatedLoader.gate = Promise.resolve();
  }
});
