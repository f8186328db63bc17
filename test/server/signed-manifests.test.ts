// Signed manifests in Node: a model that trusts a key serves only manifests that key signed; an
// unsigned, foreign-signed or tampered manifest is PERMISSION_DENIED and what serves keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { publishGraphModel } from '../../src/repository/publish.js';
import { generateSigningKey, verifyManifest } from '../../src/repository/manifest-signature.js';
import { parseManifest } from '../../src/repository/manifest.js';
import type { ServingError } from '../../src/index.js';
import { denseModel } from '../helpers/models.js';
import { harness, predictDense, valueOf } from '../helpers/serving.js';

test('trustedPublicKeys: signed by the trusted key serves; other key, unsigned or tampered → PERMISSION_DENIED, v1 keeps serving', async () => {
  const h = await harness();
  const a = await generateSigningKey();
  const b = await generateSigningKey();
  const publish = async (version: number, signingKeys: string[]) =>
    publishGraphModel(await denseModel(version, 0), join(h.repoDir, 'm'), { version, signingKeys });
  try {
    await publish(1, [a.privateKeyPem]);
    const server = await h.start({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), trustedPublicKeys: [a.publicKey] }] });
    assert.equal(valueOf(await predictDense(server, 3)), 3);

    const refused = async (pattern: RegExp) => {
      await server.pollNow();
      const state = await server.sourceState('m');
      assert.equal(state.lastError?.code, 'PERMISSION_DENIED', JSON.stringify(state.lastError));
      assert.match(state.lastError?.message ?? '', pattern);
      assert.equal((await predictDense(server, 3)).model.version, 1, 'v1 keeps serving');
      assert.deepEqual(state.publishedVersions, [1], 'the refused manifest is not taken');
    };

    await publish(2, [b.privateKeyPem]); // signed by a key the model does not trust
    await refused(new RegExp(`signed by key\\(s\\) ${b.keyId}, none of which this model trusts`));

    await publish(3, []); // unsigned
    await refused(/the manifest is not signed/);

    // A compromised bucket: the attacker changes a file and its hash in a manifest signed by the trusted key.
    await publish(4, [a.privateKeyPem]);
    const path = join(h.repoDir, 'm', 'manifest.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    manifest.versions.at(-1).files[0].sha256 = 'f'.repeat(64);
    await writeFile(path, JSON.stringify(manifest));
    await refused(/signature by a trusted key does not verify/);

    // Rotation: trust both keys, then a manifest signed by the new key alone is served.
    await publish(5, [b.privateKeyPem]);
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), trustedPublicKeys: [a.publicKey, b.publicKey] }] });
    await server.pollNow();
    assert.equal((await predictDense(server, 3)).model.version, 5);
    assert.equal((await server.sourceState('m')).lastError, undefined);
  } finally {
    await h.close();
  }
});

test('signatures cover the canonical manifest, whatever its layout; several keys sign for rotation', async () => {
  const h = await harness();
  try {
    const a = await generateSigningKey();
    const b = await generateSigningKey();
    await publishGraphModel(await denseModel(1, 0), join(h.repoDir, 'm'), { version: 1, signingKeys: [a.privateKeyPem, b.privateKeyPem] });
    const text = await readFile(join(h.repoDir, 'm', 'manifest.json'), 'utf8');
    const manifest = parseManifest(text, 'manifest');
    assert.deepEqual(manifest.signatures?.map((s) => s.keyId), [a.keyId, b.keyId]);
    await verifyManifest(manifest, [b.publicKey], 'manifest');
    // Re-indented and with its keys in another order, the manifest still verifies.
    const reordered = parseManifest(JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(text)).reverse()), null, 4), 'manifest');
    await verifyManifest(reordered, [a.publicKey], 'manifest');
  } finally {
    await h.close();
  }
});

test('bad trusted keys and signing keys are refused by name', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await assert.rejects(
      h.start({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), trustedPublicKeys: ['not-a-key'] }] }),
      (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /model m: trustedPublicKeys: a trusted public key must be the base64/.test(e.message),
    );
    await assert.rejects(
      publishGraphModel(await denseModel(2, 0), join(h.repoDir, 'm'), { version: 2, signingKeys: ['-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'] }),
      (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /not an Ed25519 private key in PKCS#8/.test(e.message),
    );
  } finally {
    await h.close();
  }
});
