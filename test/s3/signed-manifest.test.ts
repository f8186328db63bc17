// Signed manifests in a bucket: publish to s3:// signs like the local publish; a model that trusts a key
// reads only the (signed) manifest layout — versions dropped in as TF Serving's numeric prefixes, or an
// unsigned manifest, are never served.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/node.js';
import { LocalModelServer } from '../../src/index.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { generateSigningKey } from '../../src/repository/manifest-signature.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { predictDense, valueOf } from '../helpers/serving.js';
import { S3TestServer } from './s3-test-server.js';
import { withAwsEnv } from './s3-env.js';

let s3: S3TestServer;
before(async () => {
  s3 = await S3TestServer.start();
  await s3.createBucket('models');
});
after(async () => {
  await s3.close();
  await removeTempDirs();
});

test('trustedPublicKeys on an s3:// model: the signed manifest serves; numeric prefixes and unsigned manifests do not', async () => {
  const key = await generateSigningKey();
  const publish = (kernel: number, version: number, signingKeys: string[]) =>
    withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(kernel, 0), 's3://models/signed/m', { version, signingKeys }));
  await publish(1, 1, [key.privateKeyPem]);
  await s3.upload('models', 'signed/m/9', await denseModel(9, 0)); // not in the signed manifest
  await s3.upload('models', 'unsigned-tf/n/3', await denseModel(3, 0)); // TF Serving's layout: nothing signed
  const server = await withAwsEnv(s3.env(), async () =>
    LocalModelServer.start({
      modelConfigList: [
        { name: 'm', basePath: 's3://models/signed/m', trustedPublicKeys: [key.publicKey] },
        { name: 'n', basePath: 's3://models/unsigned-tf/n', trustedPublicKeys: [key.publicKey] },
      ],
      store: new FileSystemModelStore(await tempDir('store')),
      pollIntervalMs: 0,
      backends: ['cpu'],
    }),
  );
  try {
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 1);
    assert.equal(valueOf(r), denseExpected(1, 0, 2));
    assert.deepEqual((await server.sourceState('m')).publishedVersions, [1], 'the numeric prefix 9 outside the signed manifest is not a version');
    const n = await server.sourceState('n');
    assert.equal(n.lastError?.code, 'NOT_FOUND', 'a model that trusts a key needs a manifest: its numeric prefixes are never listed');
    assert.match(n.lastError?.message ?? '', /s3:\/\/models\/unsigned-tf\/n\/manifest\.json returned HTTP 404/);
    await assert.rejects(predictDense(server, 2, { model: 'n' }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');

    await publish(2, 2, []); // unsigned
    await server.pollNow('m');
    const state = await server.sourceState('m');
    assert.equal(state.lastError?.code, 'PERMISSION_DENIED');
    assert.match(state.lastError?.message ?? '', /s3:\/\/models\/signed\/m\/manifest\.json.*not signed/);
    assert.equal((await predictDense(server, 2)).model.version, 1, 'version 1 keeps serving');
  } finally {
    await server.close();
  }
});
