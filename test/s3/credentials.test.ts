// Wrong credentials against a private bucket: clear UNAUTHENTICATED / PERMISSION_DENIED errors that name
// the bucket and what to check, and the server keeps serving what it has.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/node.js';
import { LocalModelServer, SourceErrorEvent } from '../../src/index.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { predictDense, valueOf } from '../helpers/serving.js';
import { dirname } from 'node:path';
import { startServeProcess } from '../config/serve-process.js';
import { S3TestServer } from './s3-test-server.js';
import { withAwsEnv } from './s3-env.js';

let s3: S3TestServer;
before(async () => {
  s3 = await S3TestServer.start();
  await s3.createBucket('models');
  await s3.createBucket('other');
  await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(3, 0), 's3://models/cred/m', { version: 1 }));
});
after(async () => {
  await s3.close();
  await removeTempDirs();
});

function start(env: Record<string, string>, storeDir: string): Promise<LocalModelServer> {
  return withAwsEnv(env, () =>
    LocalModelServer.start({
      modelConfigList: [{ name: 'm', basePath: 's3://models/cred/m' }],
      store: new FileSystemModelStore(storeDir),
      pollIntervalMs: 0,
      backends: ['wasm'],
      loadRetryIntervalMs: 10,
      maxNumLoadRetries: 1,
    }),
  );
}

test('a wrong secret: UNAUTHENTICATED naming the bucket and AWS_SECRET_ACCESS_KEY; the stored version serves', async () => {
  const storeDir = await tempDir('store');
  const good = await start(s3.env(), storeDir);
  assert.equal(valueOf(await predictDense(good, 2)), denseExpected(3, 0, 2));
  await good.close();

  const server = await start(s3.env(S3TestServer.ADMIN.id, 'not-the-secret'), storeDir);
  try {
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'UNAUTHENTICATED');
    assert.match(state?.lastError?.message ?? '', /s3:\/\/models\/cred\/m/);
    assert.match(state?.lastError?.message ?? '', /signature does not match.*check AWS_SECRET_ACCESS_KEY/);
    assert.ok((s3.refused.get('SignatureDoesNotMatch') ?? 0) >= 1, 'the gateway recomputed the signature and refused it');
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 1, 'the version in the store serves with no network');
    assert.equal(valueOf(r), denseExpected(3, 0, 2));
  } finally {
    await server.close();
  }
});

test('a key revoked while serving: UNAUTHENTICATED in sourceState and sourceerror, serving goes on, and recovers once the key is back', async () => {
  s3.keys.set('REPLICAKEY', { secret: 'replica-secret' });
  const server = await start(s3.env('REPLICAKEY'), await tempDir('store'));
  try {
    assert.equal((await predictDense(server, 1)).model.version, 1);
    const errors: SourceErrorEvent[] = [];
    server.addEventListener('sourceerror', (e) => errors.push(e as SourceErrorEvent)); // sourceerror events are SourceErrorEvents
    s3.keys.delete('REPLICAKEY');
    await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(4, 0), 's3://models/cred/m', { version: 2 }));

    await server.pollNow('m');
    await server.whenIdle();
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'UNAUTHENTICATED');
    assert.match(state?.lastError?.message ?? '', /s3:\/\/models\/cred\/m\/manifest\.json at http:\/\/127\.0\.0\.1:\d+: the access key id is not known.*check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    assert.deepEqual(errors.map((e) => [e.model, e.code]), [['m', 'UNAUTHENTICATED']]);
    const r = await predictDense(server, 1);
    assert.equal(r.model.version, 1, 'what is AVAILABLE keeps serving');
    const status = await server.getModelStatus('m');
    assert.deepEqual(status.model_version_status.map((s) => [s.version, s.state]), [['1', 'AVAILABLE']]);

    s3.keys.set('REPLICAKEY', { secret: 'replica-secret' });
    await server.pollNow('m');
    await server.whenIdle();
    assert.equal((await server.sourceState('m'))?.lastError, undefined);
    const r2 = await predictDense(server, 1);
    assert.equal(r2.model.version, 2);
    assert.equal(valueOf(r2), denseExpected(4, 0, 1));
  } finally {
    await server.close();
  }
});

test('a key with no grant on the bucket: PERMISSION_DENIED naming the bucket and the permissions to check', async () => {
  s3.keys.set('OTHERKEY', { secret: 'other-secret', buckets: ['other'] });
  const server = await start(s3.env('OTHERKEY'), await tempDir('store'));
  try {
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'PERMISSION_DENIED');
    assert.match(state?.lastError?.message ?? '', /access to bucket models was denied.*s3:ListBucket and s3:GetObject/);
    await assert.rejects(predictDense(server, 1), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
  } finally {
    await server.close();
  }
});

test('publishing with wrong credentials fails with UNAUTHENTICATED and uploads nothing', async () => {
  const before = s3.accepted.length;
  await assert.rejects(
    withAwsEnv(s3.env('NOSUCHKEY', 'x'), async () => publishGraphModel(await denseModel(9, 0), 's3://models/cred/m')),
    (e: Error & { code?: string }) => e.code === 'UNAUTHENTICATED' && /s3:\/\/models\/cred\/m\/manifest\.json/.test(e.message),
  );
  assert.deepEqual(s3.accepted.slice(before), []);
});

test('serve --model_base_path s3://… with a wrong secret logs the error (the model has no version to serve)', async () => {
  const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, ...s3.env(S3TestServer.ADMIN.id, 'not-the-secret') };
  const serve = await startServeProcess(['serve', '--model_name=m', '--model_base_path=s3://models/cred/m', '--rest_api_host=127.0.0.1', '--rest_api_port=0', '--backend=cpu', '--file_system_poll_wait_seconds=0'], { env });
  try {
    assert.match(serve.log(), /Model m: its source reports UNAUTHENTICATED: listing s3:\/\/models\/cred\/m\/ at http:\/\/127\.0\.0\.1:\d+: the request signature does not match.*check AWS_SECRET_ACCESS_KEY/);
    assert.match(serve.log(), /Model m \(s3:\/\/models\/cred\/m\): no version AVAILABLE yet/);
    const res = await fetch(`http://127.0.0.1:${serve.restPort}/v1/models/m`);
    assert.equal(res.status, 404);
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});
