// One repository module reads versions for the file-system source and for publish: a SavedModel
// served straight from a TF Serving-layout directory and one published both keep its warmup.json
// (they used to drift apart), and the warmup it holds is what runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystemModelStore, LocalModelServer, publishGraphModel, readVersionDirectory } from '../../src/node.js';
import { removeTempDirs, tempDir } from '../helpers/models.js';

const HALF_PLUS_TWO = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

async function savedModelWithWarmup(warmup: object): Promise<string> {
  const base = await tempDir('repo-savedmodel');
  const dir = join(base, '123');
  await mkdir(base, { recursive: true });
  await cp(HALF_PLUS_TWO, dir, { recursive: true });
  await writeFile(join(dir, 'warmup.json'), JSON.stringify(warmup));
  return base;
}

test('a SavedModel read from a directory and one published both carry its warmup.json', async (t) => {
  t.after(removeTempDirs);
  const warmup = { requests: [{ inputs: { x: [[1], [2]] } }] };
  const base = await savedModelWithWarmup(warmup);
  const read = await readVersionDirectory(join(base, '123'));
  assert.equal(read.kind, 'saved-model');
  assert.deepEqual(read.files.map((f) => f.path).filter((p) => !p.endsWith('.bin')).sort(), ['model.json', 'warmup.json']);

  const repo = await tempDir('repo-published');
  const published = await publishGraphModel(join(base, '123'), join(repo, 'half_plus_two'), { version: 7 });
  assert.ok(published.files.some((f) => f.path === 'warmup.json'), 'publish keeps warmup.json');
  assert.deepEqual(JSON.parse(await readFile(join(repo, 'half_plus_two', '7', 'warmup.json'), 'utf8')), warmup);

  const storeDir = await tempDir('repo-store');
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'half_plus_two', basePath: base }],
    store: new FileSystemModelStore(storeDir),
    pollIntervalMs: 0,
    backends: ['cpu'],
  });
  try {
    const stored = await server.store.getVersion('half_plus_two', 123);
    assert.ok(stored?.files.some((f) => f.path === 'warmup.json'), 'the file-system source keeps warmup.json');
    const warmupMetric = (await server.metrics())['/tensorflow/serving/model_warmup_latency'];
    assert.ok(warmupMetric, 'warmup ran and was timed');
    const r = await server.predict({ model: 'half_plus_two', inputs: { x: [[4]] } });
    assert.deepEqual([...(r.outputs.y!.data as Float32Array)], [4]);
  } finally {
    await server.close();
  }
});

test("a SavedModel's warmup.json that does not fit its signature fails the load, with the warmup named in status", async (t) => {
  t.after(removeTempDirs);
  const base = await savedModelWithWarmup({ requests: [{ inputs: { nope: [[1]] } }] });
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'half_plus_two', basePath: base }],
    store: new FileSystemModelStore(await tempDir('repo-store')),
    pollIntervalMs: 0,
    backends: ['cpu'],
    maxNumLoadRetries: 0,
  });
  try {
    const [status] = (await server.getModelStatus('half_plus_two')).model_version_status;
    assert.equal(status?.state, 'END');
    assert.match(status?.status.error_message ?? '', /warmup request 0/);
  } finally {
    await server.close();
  }
});
