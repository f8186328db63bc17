/**
 * Signed manifests in headless Chromium: the bundle's worker verifies Ed25519 signatures with the
 * browser's WebCrypto; a manifest signed by another key is PERMISSION_DENIED and v1 keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browserSkipReason } from './harness.js';
import { openLibraryPage } from './library-page.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { generateSigningKey } from '../../src/repository/manifest-signature.js';
import { denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const skip = await browserSkipReason();

type Win = Window & { lib: typeof import('../../src/browser.js'); server: import('../../src/browser.js').ModelServer };

describe('signed manifests in the browser', { skip: skip ?? false, timeout: 120_000 }, () => {
  let repoDir: string;
  before(async () => {
    repoDir = await tempDir('signed-repo');
  });
  after(removeTempDirs);

  test('the worker serves what the trusted key signed and refuses a manifest signed by another key', async () => {
    const trusted = await generateSigningKey();
    const other = await generateSigningKey();
    await publishGraphModel(await denseModel(1, 0), join(repoDir, 'm'), { version: 1, signingKeys: [trusted.privateKeyPem] });
    const app = await openLibraryPage(repoDir);
    try {
      const started = await app.page.evaluate(async (publicKey) => {
        const w = window as unknown as Win;
        w.server = await w.lib.ModelServer.start({
          modelConfigList: [{ name: 'm', basePath: '/repo/m', trustedPublicKeys: [publicKey] }],
          pollIntervalMs: 0,
          backends: ['wasm'],
        });
        const r = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2]] } });
        return { mode: w.server.mode, version: r.model.version };
      }, trusted.publicKey);
      assert.deepEqual(started, { mode: 'worker', version: 1 });

      await publishGraphModel(await denseModel(2, 0), join(repoDir, 'm'), { version: 2, signingKeys: [other.privateKeyPem] });
      const after = await app.page.evaluate(async () => {
        const w = window as unknown as Win;
        await w.server.pollNow();
        const state = await w.server.sourceState('m');
        const r = await w.server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2]] } });
        await w.server.close();
        return { error: state.lastError, version: r.model.version };
      });
      assert.equal(after.error?.code, 'PERMISSION_DENIED');
      assert.match(after.error?.message ?? '', new RegExp(`signed by key\\(s\\) ${other.keyId}, none of which this model trusts`));
      assert.equal(after.version, 1);
    } finally {
      await app.close();
    }
  });
});
