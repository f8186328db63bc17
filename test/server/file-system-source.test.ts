// The local base path (TF Serving's layout) and publish against hostile directories: links that leave
// the model directory, two directories naming one version, a directory with far too many files, and
// file-system errors with TF Serving's codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServingError } from '../../src/index.js';
import { FileSystemModelStore, LocalModelServer, publishGraphModel } from '../../src/node.js';
import { statusCodeOfFsError } from '../../src/repository/fs-errors.js';
import { denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

async function serve(base: string) {
  return LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: base }],
    store: new FileSystemModelStore(await tempDir('fs-store')),
    pollIntervalMs: 0,
    backends: ['cpu'],
    maxNumLoadRetries: 0,
  });
}

test('publish refuses a shard that is a symbolic link out of the model directory', async (t) => {
  t.after(removeTempDirs);
  const model = await denseModel(2, 0);
  const outside = await tempDir('fs-outside');
  await writeFile(join(outside, 'secret.bin'), new Uint8Array(8));
  const { readdir, rm } = await import('node:fs/promises');
  const shard = (await readdir(model)).find((f) => f.endsWith('.bin'));
  assert.ok(shard);
  await rm(join(model, shard));
  await symlink(join(outside, 'secret.bin'), join(model, shard));
  await assert.rejects(publishGraphModel(model, join(await tempDir('fs-repo'), 'm')), (e: ServingError) => {
    assert.equal(e.code, 'PERMISSION_DENIED');
    assert.match(e.message, /symbolic link to .*secret\.bin, outside the model directory/);
    return true;
  });
});

test('a version directory linked from outside the base path is not followed; one linked inside is', async (t) => {
  t.after(removeTempDirs);
  const base = await tempDir('fs-base');
  const elsewhere = await tempDir('fs-elsewhere');
  await cp(await denseModel(1, 0), join(elsewhere, 'v1'), { recursive: true });
  await symlink(join(elsewhere, 'v1'), join(base, '1'));
  await cp(await denseModel(2, 0), join(base, 'store', 'two'), { recursive: true });
  await symlink(join(base, 'store', 'two'), join(base, '2'));
  const server = await serve(base);
  try {
    const state = await server.sourceState('m');
    assert.deepEqual(state.publishedVersions, [2]);
    assert.equal((await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } })).model.version, 2);
  } finally {
    await server.close();
  }
});

test('00001 and 1 name one version: the one holding the model is used and the clash is reported', async (t) => {
  t.after(removeTempDirs);
  const base = await tempDir('fs-base');
  await mkdir(join(base, '00001'));
  await cp(await denseModel(3, 0), join(base, '1'), { recursive: true });
  const server = await serve(base);
  try {
    const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[2]] } });
    assert.equal(r.model.version, 1);
    assert.equal((r.outputs['Identity:0']?.data as Float32Array)[0], 6);
    const state = await server.sourceState('m');
    assert.equal(state.lastError?.code, 'FAILED_PRECONDITION');
    assert.match(state.lastError?.message ?? '', /directories 00001 and 1 .* both name version 1 of m; 1 holds the model and is used/);
  } finally {
    await server.close();
  }
});

test('a version directory with more files than a model has is refused without walking it all', async (t) => {
  t.after(removeTempDirs);
  const base = await tempDir('fs-base');
  await cp(await denseModel(1, 0), join(base, '1'), { recursive: true });
  await mkdir(join(base, '1', 'junk'));
  await Promise.all(Array.from({ length: 10_001 }, (_, i) => writeFile(join(base, '1', 'junk', `f${i}`), '')));
  const server = await serve(base);
  try {
    const [status] = (await server.getModelStatus('m')).model_version_status;
    assert.equal(status?.state, 'START');
    assert.equal(status?.status.error_code, 'FAILED_PRECONDITION');
    assert.match(status?.status.error_message ?? '', /holds more than 10000 files/);
  } finally {
    await server.close();
  }
});

test('a missing weight file is NOT_FOUND in status; errno codes map to TF Serving codes', async (t) => {
  t.after(removeTempDirs);
  const base = await tempDir('fs-base');
  await cp(await denseModel(1, 0), join(base, '1'), { recursive: true });
  const { readdir, rm } = await import('node:fs/promises');
  const shard = (await readdir(join(base, '1'))).find((f) => f.endsWith('.bin'));
  await rm(join(base, '1', shard ?? 'missing'));
  const server = await serve(base);
  try {
    const [status] = (await server.getModelStatus('m')).model_version_status;
    assert.equal(status?.status.error_code, 'NOT_FOUND');
    assert.match(status?.status.error_message ?? '', /lists weight file .*, which cannot be read/);
  } finally {
    await server.close();
  }
  const errno = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(statusCodeOfFsError(errno('EACCES')), 'PERMISSION_DENIED');
  assert.equal(statusCodeOfFsError(errno('ENOSPC')), 'RESOURCE_EXHAUSTED');
  assert.equal(statusCodeOfFsError(errno('EMFILE')), 'UNAVAILABLE');
  assert.equal(statusCodeOfFsError(new Error('plain')), 'UNKNOWN');
});
