/**
 * The built bundle in a cross-origin isolated page (COOP/COEP: what an app that wants SharedArrayBuffer
 * serves). There TF.js would pick its threaded WASM build, whose pthread workers die once bundled
 * ("ReferenceError: e is not defined") and the backend never came up: the page hung. The library runs
 * one WASM thread per worker, so both modes serve there.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

describe('a cross-origin isolated page', { skip: skip ?? false, timeout: 120_000 }, () => {
  after(removeTempDirs);

  test('serves on wasm in a worker and with worker: false', async () => {
    const repoDir = await tempDir('coi-repo');
    await publishGraphModel(await denseModel(3, 1), join(repoDir, 'm'), { version: 1 });
    const app = await openLibraryPage(repoDir, { crossOriginIsolated: true });
    try {
      const run = (worker: boolean) =>
        app.page.evaluate(async (worker) => {
          const { ModelServer } = (window as unknown as { lib: typeof import('../../src/browser.js') }).lib;
          const server = await ModelServer.start({ modelConfigList: [{ name: 'm', basePath: '/repo/m' }], pollIntervalMs: 0, backends: ['wasm'], worker });
          try {
            const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2], [-5]] } });
            return { isolated: crossOriginIsolated, mode: server.mode, backend: server.backend, y: Array.from(r.output!.data as Float32Array) };
          } finally {
            await server.close();
          }
        }, worker);
      const expected = [denseExpected(3, 1, 2), denseExpected(3, 1, -5)];
      assert.deepEqual(await run(true), { isolated: true, mode: 'worker', backend: 'wasm', y: expected });
      assert.deepEqual(await run(false), { isolated: true, mode: 'local', backend: 'wasm', y: expected });
      assert.deepEqual(app.logs.filter((l) => /is not defined|\[pageerror\]/.test(l)), []);
    } finally {
      await app.close();
    }
  });
});
