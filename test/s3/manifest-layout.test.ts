// This project's manifest layout in a private bucket: `publish … s3://` then serve from it, a version
// whose files arrive after its manifest (never served half), and the bucket refusing unsigned requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import '../../src/node.js';
import { LocalModelServer } from '../../src/index.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { readVersionDirectory, versionFileRecord } from '../../src/repository/version-directory.js';
import { MANIFEST_FORMAT, MANIFEST_FORMAT_VERSION } from '../../src/repository/manifest.js';
import { main } from '../../src/cli/main.js';
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

async function startServer(basePath: string, storeDir?: string): Promise<LocalModelServer> {
  return withAwsEnv(s3.env(), () =>
    LocalModelServer.start({
      modelConfigList: [{ name: 'm', basePath }],
      store: new FileSystemModelStore(storeDir ?? join(process.env.TMPDIR ?? '/tmp', 'unused')),
      pollIntervalMs: 0,
      backends: ['wasm'],
      loadRetryIntervalMs: 10,
      maxNumLoadRetries: 1,
    }),
  );
}

test('the bucket is private: an unsigned GET is refused, a signed one by the SDK is not', async () => {
  await s3.put('models', 'probe/hello.txt', 'hi');
  const res = await fetch(`${s3.endpoint}/models/probe/hello.txt`);
  assert.equal(res.status, 403);
  assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
  assert.ok((s3.refused.get('AccessDenied') ?? 0) >= 1);
});

test('the CLI publishes to s3:// (files first, manifest last) and a server serves the manifest layout from it', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const before = s3.accepted.length;
  const code = await withAwsEnv(s3.env(), async () =>
    main(['publish', await denseModel(2, 1), 's3://models/repo/m'], { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }),
  );
  assert.equal(code, 0, err.join(''));
  assert.deepEqual(JSON.parse(out.join('')), { model: 'm', version: 1, manifest: 's3://models/repo/m/manifest.json' });
  assert.match(err.join(''), /model\.json \d+ bytes → s3:\/\/models\/repo\/m\/1\/model\.json/);
  const puts = s3.accepted.slice(before).filter((r) => r.startsWith('PUT '));
  // model.json, one shard per weight (kernel, bias), then the manifest last.
  assert.equal(puts.length, 4, puts.join('\n'));
  assert.equal(puts[0], 'PUT /models/repo/m/1/model.json');
  for (const put of puts.slice(1, 3)) assert.match(put, /^PUT \/models\/repo\/m\/1\/[\w.-]+\.bin$/);
  assert.equal(puts[3], 'PUT /models/repo/m/manifest.json', 'files first, the manifest last');

  const server = await startServer('s3://models/repo/m', await tempDir('store'));
  try {
    assert.equal(valueOf(await predictDense(server, 3)), denseExpected(2, 1, 3));
    assert.deepEqual((await server.sourceState('m'))?.publishedVersions, [1]);

    await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(5, 0), 's3://models/repo/m'));
    await server.pollNow('m');
    await server.whenIdle();
    const r = await predictDense(server, 3);
    assert.equal(r.model.version, 2);
    assert.equal(valueOf(r), denseExpected(5, 0, 3));
    assert.equal((await server.sourceState('m'))?.lastError, undefined);
  } finally {
    await server.close();
  }
});

test('a version whose manifest is uploaded before its files is never served half, and is served once complete', async () => {
  await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(1, 0), 's3://models/order/m', { version: 1 }));
  const server = await startServer('s3://models/order/m', await tempDir('store'));
  try {
    assert.equal(valueOf(await predictDense(server, 4)), denseExpected(1, 0, 4));
    // Version 2, uploaded in the wrong order: the manifest first, listing files not there yet.
    const read = await readVersionDirectory(await denseModel(7, 0));
    const manifest = JSON.parse(await s3Text('order/m/manifest.json'));
    assert.equal(manifest.format, MANIFEST_FORMAT);
    manifest.versions.push({ version: 2, files: read.files.map(versionFileRecord) });
    await s3.put('models', 'order/m/manifest.json', JSON.stringify(manifest));
    const modelJson = read.files.find((f) => f.path === 'model.json');
    assert.ok(modelJson);
    await s3.put('models', 'order/m/2/model.json', modelJson.bytes); // the weights are still missing

    await server.pollNow('m');
    await server.whenIdle();
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'NOT_FOUND');
    assert.match(state?.lastError?.message ?? '', /version 2 of m.*s3:\/\/models\/order\/m\/2\/group1-shard1of1\.bin.*404/);
    assert.deepEqual(state?.storedVersions, [1]);
    const r1 = await predictDense(server, 4);
    assert.equal(r1.model.version, 1, 'version 1 keeps serving while version 2 is incomplete');
    const status = await server.getModelStatus('m');
    assert.deepEqual(
      status.model_version_status.map((s) => [s.version, s.state, s.status.error_code]),
      [
        ['2', 'START', 'NOT_FOUND'],
        ['1', 'AVAILABLE', 'OK'],
      ],
    );

    for (const f of read.files) await s3.put('models', `order/m/2/${f.path}`, f.bytes);
    await server.pollNow('m');
    await server.whenIdle();
    const r2 = await predictDense(server, 4);
    assert.equal(r2.model.version, 2);
    assert.equal(valueOf(r2), denseExpected(7, 0, 4));
    assert.equal((await server.sourceState('m'))?.lastError, undefined);
  } finally {
    await server.close();
  }
});

test('a manifest written by hand in the bucket is read like one on a web server (format checked)', async () => {
  await s3.put('models', 'bad/m/manifest.json', JSON.stringify({ format: MANIFEST_FORMAT, formatVersion: MANIFEST_FORMAT_VERSION + 1, name: 'm', versions: [] }));
  const server = await startServer('s3://models/bad/m', await tempDir('store'));
  try {
    const state = await server.sourceState('m');
    assert.equal(state?.lastError?.code, 'INVALID_ARGUMENT');
    assert.match(state?.lastError?.message ?? '', /s3:\/\/models\/bad\/m\/manifest\.json.*formatVersion/);
  } finally {
    await server.close();
  }
});

async function s3Text(key: string): Promise<string> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const out = await s3.admin.send(new GetObjectCommand({ Bucket: 'models', Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

