// Unit tests of the manager's pure scheduling logic, with in-memory loaders that record what happens.
// (The real TF.js loader is tested end to end in test/server/*.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AspiredVersionsManager } from '../../src/core/aspired-versions-manager.js';
import { resourcePreservingPolicy } from '../../src/core/resource-preserving-policy.js';
import { ResourceTracker } from '../../src/core/resource-tracker.js';
import type { Loader } from '../../src/core/loader.js';
import { ServingError } from '../../src/core/status.js';

class RecordingLoader implements Loader<string> {
  failuresLeft: number;
  constructor(
    readonly log: string[],
    readonly label: string,
    opts: { failures?: number; bytes?: number } = {},
  ) {
    this.failuresLeft = opts.failures ?? 0;
    this.bytes = opts.bytes ?? 10;
  }
  bytes: number;
  async estimateResources() {
    return { ramBytes: this.bytes };
  }
  async load() {
    await new Promise((r) => setTimeout(r, 5));
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      this.log.push(`fail ${this.label}`);
      throw new Error(`boom ${this.label}`);
    }
    this.log.push(`load ${this.label}`);
    return `servable ${this.label}`;
  }
  async unload() {
    this.log.push(`unload ${this.label}`);
  }
}

/** Which version serves `request` right now (releasing the handle at once). */
function serving(m: AspiredVersionsManager<string>, version?: number) {
  const h = m.getServableHandle({ name: 'm', version });
  h.release();
  return h;
}

function states(m: AspiredVersionsManager<string>, name: string) {
  return [...m.monitor.getVersionStates(name)].map(([v, s]) => `${v}:${s.state.managerState}:${s.state.health.error_code}`);
}

test('availability-preserving: loads the new version before unloading the old, and waits for handles', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>();
  const transitions: string[] = [];
  m.monitor.subscribe((s) => transitions.push(`${s.id.version}:${s.managerState}`));
  m.setAspiredVersions('m', [{ version: 1, loader: new RecordingLoader(log, 'v1') }]);
  await m.whenIdle();
  const handle = m.getServableHandle({ name: 'm' });
  assert.equal(handle.servable, 'servable v1');
  m.setAspiredVersions('m', [{ version: 2, loader: new RecordingLoader(log, 'v2') }]);
  await m.monitor.waitFor((s) => s.id.version === 1 && s.managerState === 'UNLOADING');
  assert.deepEqual(log, ['load v1', 'load v2']);
  assert.equal(serving(m).servable, 'servable v2', 'new requests go to v2 while v1 drains');
  assert.throws(() => m.getServableHandle({ name: 'm', version: 1 }), (e: ServingError) => e.code === 'NOT_FOUND' && /Specific\(m, 1\)/.test(e.message));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(log, ['load v1', 'load v2'], 'v1 must not unload while a handle is held');
  handle.release();
  handle.release(); // idempotent
  await m.whenIdle();
  assert.deepEqual(log, ['load v1', 'load v2', 'unload v1']);
  assert.deepEqual(transitions, ['1:START', '1:LOADING', '1:AVAILABLE', '2:START', '2:LOADING', '2:AVAILABLE', '1:UNLOADING', '1:END']);
  await m.close();
  assert.deepEqual(log.at(-1), 'unload v2');
});

test('resource-preserving: unloads the old version before loading the new one', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>({ policy: resourcePreservingPolicy });
  m.setAspiredVersions('m', [{ version: 1, loader: new RecordingLoader(log, 'v1') }]);
  await m.whenIdle();
  m.setAspiredVersions('m', [{ version: 2, loader: new RecordingLoader(log, 'v2') }]);
  await m.whenIdle();
  assert.deepEqual(log, ['load v1', 'unload v1', 'load v2']);
  await m.close();
});

test('a failing new version keeps the old one serving; retries are counted; END carries the error', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>({ maxNumLoadRetries: 2, loadRetryIntervalMs: 1 });
  m.setAspiredVersions('m', [{ version: 1, loader: new RecordingLoader(log, 'v1') }]);
  await m.whenIdle();
  m.setAspiredVersions('m', [{ version: 2, loader: new RecordingLoader(log, 'v2', { failures: 99 }) }]);
  await m.whenIdle();
  assert.deepEqual(log, ['load v1', 'fail v2', 'fail v2', 'fail v2']);
  assert.deepEqual(states(m, 'm'), ['1:AVAILABLE:OK', '2:END:UNKNOWN']);
  assert.match(m.monitor.getState('m', 2)!.health.error_message, /boom v2/);
  assert.equal(serving(m).id.version, 1);
  // Still aspired: never reloaded on a later setAspiredVersions with the same version.
  m.setAspiredVersions('m', [{ version: 2, loader: new RecordingLoader(log, 'v2b') }]);
  await m.whenIdle();
  assert.equal(log.length, 4);
  await m.close();
});

test('a load that succeeds on a retry becomes AVAILABLE', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>({ maxNumLoadRetries: 2, loadRetryIntervalMs: 1 });
  m.setAspiredVersions('m', [{ version: 3, loader: new RecordingLoader(log, 'v3', { failures: 2 }) }]);
  await m.whenIdle();
  assert.deepEqual(log, ['fail v3', 'fail v3', 'load v3']);
  assert.deepEqual(states(m, 'm'), ['3:AVAILABLE:OK']);
  await m.close();
});

test('memory budget: a version that does not fit is refused with RESOURCE_EXHAUSTED and the old one serves', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>({ resourceTracker: new ResourceTracker(100) });
  m.setAspiredVersions('m', [{ version: 1, loader: new RecordingLoader(log, 'v1', { bytes: 60 }) }]);
  await m.whenIdle();
  m.setAspiredVersions('m', [{ version: 2, loader: new RecordingLoader(log, 'v2', { bytes: 50 }) }]);
  await m.whenIdle();
  assert.deepEqual(log, ['load v1']);
  const s = m.monitor.getState('m', 2)!;
  assert.equal(s.managerState, 'END');
  assert.equal(s.health.error_code, 'RESOURCE_EXHAUSTED');
  assert.match(s.health.error_message, /needs an estimated 50 bytes/);
  assert.equal(serving(m).id.version, 1);
  await m.close();
  assert.equal(m.resourceTracker.usedBytes, 0);
});

test('latest 2 then an empty list unloads everything; unknown streams are NOT_FOUND', async () => {
  const log: string[] = [];
  const m = new AspiredVersionsManager<string>();
  m.setAspiredVersions('m', [
    { version: 1, loader: new RecordingLoader(log, 'v1') },
    { version: 2, loader: new RecordingLoader(log, 'v2') },
  ]);
  await m.whenIdle();
  assert.deepEqual(m.availableVersions('m'), [1, 2]);
  assert.deepEqual(log, ['load v2', 'load v1'], 'highest version loads first');
  m.setAspiredVersions('m', []);
  await m.whenIdle();
  assert.deepEqual(m.availableVersions('m'), []);
  assert.throws(() => m.getServableHandle({ name: 'nope' }), /Servable not found for request: Latest\(nope\)/);
  await m.close();
});
