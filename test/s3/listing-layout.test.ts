// TF Serving's layout in a private bucket, found by listing: numeric version prefixes holding
// SavedModels (converted on import) or TF.js graph models; an upload in progress is never served
// half; a missing bucket or prefix is NOT_FOUND; a prefix that gets a manifest switches layout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../src/node.js';
import { LocalModelServer } from '../../src/index.js';
import type { ModelConfig } from '../../src/index.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { predictDense, valueOf } from '../helpers/serving.js';
import { S3TestServer } from './s3-test-server.js';
import { withAwsEnv } from './s3-env.js';

const HALF_PLUS_TWO = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

let s3: S3TestServer;
before(async () => {
  s3 = await S3TestServer.start();
  await s3.createBucket('models');
});
after(async () => {
  await s3.close();
  await removeTempDirs();
});

function start(modelConfigList: ModelConfig[]): Promise<LocalModelServer> {
  return withAwsEnv(s3.env(), async () =>
    LocalModelServer.start({
      modelConfigList,
      store: new FileSystemModelStore(await tempDir('store')),
      pollIntervalMs: 0,
      backends: ['cpu'],
      loadRetryIntervalMs: 10,
      maxNumLoadRetries: 1,
    }),
  );
}

test('numeric version prefixes holding a SavedModel (converted) and a TF.js graph model are served', async () => {
  await s3.upload('models', 'tf/half_plus_two/00000123', HALF_PLUS_TWO);
  await s3.put('models', 'tf/dense/', ''); // a "directory" marker, as consoles create
  await s3.upload('models', 'tf/dense/1', await denseModel(2, 0));
  await s3.put('models', 'tf/dense/README.txt', 'not a version');
  const server = await start([
    { name: 'half_plus_two', basePath: 's3://models/tf/half_plus_two' },
    { name: 'm', basePath: 's3://models/tf/dense/' },
  ]);
  try {
    const r = await server.predict({ model: 'half_plus_two', inputs: { x: [[4], [6]] } });
    assert.equal(r.model.version, 123);
    assert.deepEqual([...(r.outputs.y?.data ?? [])], [4, 5]);
    assert.equal(valueOf(await predictDense(server, 3)), denseExpected(2, 0, 3));
    assert.deepEqual((await server.sourceState('m'))?.publishedVersions, [1]);
    assert.equal((await server.sourceState('half_plus_two'))?.lastError, undefined);
  } finally {
    await server.close();
  }
});

test('a version uploaded model.json first is not served until its weights are there', async () => {
  await s3.upload('models', 'wrong/m/1', await denseModel(1, 0));
  const server = await start([{ name: 'm', basePath: 's3://models/wrong/m' }]);
  try {
    assert.equal(valueOf(await predictDense(server, 5)), denseExpected(1, 0, 5));
    const v2 = await denseModel(6, 0);
    const { readFile } = await import('node:fs/promises');
    await s3.put('models', 'wrong/m/2/model.json', new Uint8Array(await readFile(join(v2, 'model.json'))));

    await server.pollNow('m');
    await server.whenIdle();
    const state = await server.sourceState('m');
    assert.deepEqual(state?.publishedVersions, [1, 2]);
    assert.deepEqual(state?.storedVersions, [1], 'the half-uploaded version never reaches the store');
    assert.equal(state?.lastError?.code, 'NOT_FOUND');
    assert.match(state?.lastError?.message ?? '', /importing version 2 of m from s3:\/\/models\/wrong\/m\/2\/.*group1-shard1of1\.bin/);
    assert.equal((await predictDense(server, 5)).model.version, 1);

    await s3.put('models', 'wrong/m/2/group1-shard1of1.bin', new Uint8Array(await readFile(join(v2, 'group1-shard1of1.bin'))));
    await server.pollNow('m');
    await server.whenIdle();
    const r = await predictDense(server, 5);
    assert.equal(r.model.version, 2);
    assert.equal(valueOf(r), denseExpected(6, 0, 5));
  } finally {
    await server.close();
  }
});

test('a version whose objects change while it is imported is not committed, and is imported on the next poll', async () => {
  await s3.upload('models', 'race/m/1', await denseModel(1, 0));
  const server = await start([{ name: 'm', basePath: 's3://models/race/m' }]);
  try {
    await s3.upload('models', 'race/m/2', await denseModel(3, 0));
    let raced = false;
    s3.beforeForward = async (method, path) => {
      if (raced || method !== 'GET' || path !== '/models/race/m/2/group1-shard1of1.bin') return;
      raced = true; // another object of version 2 lands while the server downloads it
      await s3.put('models', 'race/m/2/warmup.json', JSON.stringify({ requests: [{ inputs: { 'dense_dense1_input:0': [[1]] } }] }));
    };
    await server.pollNow('m');
    await server.whenIdle();
    s3.beforeForward = undefined;
    assert.ok(raced);
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'UNAVAILABLE');
    assert.match(state?.lastError?.message ?? '', /s3:\/\/models\/race\/m\/2\/ changed while it was being imported.*retried on the next poll/);
    assert.deepEqual(state?.storedVersions, [1]);
    assert.equal((await predictDense(server, 2)).model.version, 1);

    await server.pollNow('m');
    await server.whenIdle();
    assert.equal((await server.sourceState('m'))?.lastError, undefined);
    const stored = await server.store.getVersion('m', 2);
    assert.ok(stored?.files.some((f) => f.path === 'warmup.json'), 'the version as it is now, with the object that arrived');
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 2);
    assert.equal(valueOf(r), denseExpected(3, 0, 2));
  } finally {
    await server.close();
  }
});

test("a bucket's root as the base path (versions at the top of the bucket)", async () => {
  await s3.createBucket('rootmodel');
  await s3.upload('rootmodel', '7', await denseModel(4, 1));
  const server = await start([{ name: 'm', basePath: 's3://rootmodel' }]);
  try {
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 7);
    assert.equal(valueOf(r), denseExpected(4, 1, 2));
  } finally {
    await server.close();
  }
});

test("a missing prefix is TF Serving's NOT_FOUND \"Could not find base path\", a missing bucket NOT_FOUND naming it", async () => {
  const server = await start([
    { name: 'm', basePath: 's3://models/nothing/here' },
    { name: 'n', basePath: 's3://nosuchbucket/m' },
  ]);
  try {
    const m = await server.sourceState('m');
    assert.equal(m?.lastError?.code, 'NOT_FOUND');
    assert.match(m?.lastError?.message ?? '', /^Could not find base path s3:\/\/models\/nothing\/here for servable m/);
    const n = await server.sourceState('n');
    assert.equal(n?.lastError?.code, 'NOT_FOUND');
    assert.match(n?.lastError?.message ?? '', /bucket nosuchbucket does not exist; check the bucket name, AWS_REGION and the endpoint/);
  } finally {
    await server.close();
  }
});

test('a prefix that gets a manifest.json switches to the manifest layout', async () => {
  const server = await start([{ name: 'm', basePath: 's3://models/later/m' }]);
  try {
    assert.equal((await server.sourceState('m'))?.lastError?.code, 'NOT_FOUND');
    await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(8, 1), 's3://models/later/m'));
    await server.pollNow('m');
    await server.whenIdle();
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 1);
    assert.equal(valueOf(r), denseExpected(8, 1, 2));
    assert.equal((await server.sourceState('m'))?.lastError, undefined);
  } finally {
    await server.close();
  }
});
