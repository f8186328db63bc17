/**
 * Content-addressed weights end to end in Node: the real emotion model published with `shardByWeight`
 * to a repository on a real HTTP server (127.0.0.1), served by a ModelServer with a file-system store.
 * A second version whose last layer alone changed fetches only that layer's shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DownloadProgressEvent } from '../../src/index.js';
import type { LocalModelServer, PredictResponse } from '../../src/index.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { shardBaseName } from '../../src/repository/weight-sharding.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { harness } from '../helpers/serving.js';
import { tempDir } from '../helpers/models.js';
import { EMOTION_HEAD, writeFineTunedEmotion } from '../helpers/fine-tuned-emotion.js';

const INPUT = new Float32Array(2 * 64 * 64).map((_, i) => ((i * 7919) % 256) / 255);

function predict(server: LocalModelServer, version: number): Promise<PredictResponse> {
  return server.predict({ model: 'emotion', version, inputs: { 'input_1:0': { shape: [2, 64, 64, 1], data: INPUT } } });
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The graph model in `dir` run by plain TF.js, no serving in between. */
async function plainTfjs(dir: string): Promise<Float32Array> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  const weightData = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map(async (p: string) => new Uint8Array(await readFile(join(dir, p))).buffer));
  const model = await tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData }));
  try {
    const x = tf.tensor(INPUT, [2, 64, 64, 1]);
    const y = model.execute(x) as tf.Tensor;
    const out = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    return out;
  } finally {
    model.dispose();
  }
}

test('emotion v2 with only its last layer changed downloads the changed shards alone: ≤ 10% of v1 (HTTP, file-system store)', async () => {
  const h = await harness();
  try {
    const v1Dir = await writeFineTunedEmotion(await tempDir('emotion-v1'), 0);
    const v2Dir = await writeFineTunedEmotion(await tempDir('emotion-v2'), 1);
    const modelDir = join(h.repoDir, 'emotion');
    const p1 = await publishGraphModel(v1Dir, modelDir, { shardByWeight: true });
    const tensorsBefore = tf.memory().numTensors;
    const served = () => h.repo.requests.reduce((s, r) => s + r.bytes, 0);
    const progress: DownloadProgressEvent[] = [];
    const server = await h.start({ models: ['emotion'], listeners: { progress: (e) => e instanceof DownloadProgressEvent && progress.push(e) } });
    const out1 = (await predict(server, 1)).outputs['Identity:0']!.data as Float32Array;
    const v1Bytes = served();
    const v1Files = p1.files.reduce((s, f) => s + f.size, 0);
    assert.ok(v1Bytes >= v1Files, `v1 fetched ${v1Bytes} bytes, its files are ${v1Files}`);

    const requestsBefore = h.repo.requests.length;
    const p2 = await publishGraphModel(v2Dir, modelDir, { shardByWeight: true });
    await server.pollNow('emotion');
    await until('version 2 AVAILABLE', async () => (await server.getModelStatus('emotion', 2)).model_version_status[0]?.state === 'AVAILABLE');
    const v2Bytes = served() - v1Bytes;
    const ratio = v2Bytes / v1Bytes;
    process.stderr.write(`[delta-download] emotion v1 ${v1Bytes} bytes fetched, v2 ${v2Bytes} bytes (${(100 * ratio).toFixed(1)}%)\n`);
    assert.ok(ratio <= 0.1, `v2 fetched ${v2Bytes} bytes, ${(100 * ratio).toFixed(1)}% of v1's ${v1Bytes}`);

    // Exactly the head's shards were fetched for version 2 (model.json and every other layer were reused).
    const headPaths = EMOTION_HEAD.map((n) => `/emotion/2/${shardBaseName(n)}.bin`).sort();
    const fetched = h.repo.requests.slice(requestsBefore).filter((r) => r.path.startsWith('/emotion/2/')).map((r) => r.path).sort();
    assert.deepEqual(fetched, headPaths);
    assert.equal(p2.files.find((f) => f.path === 'model.json')?.sha256, p1.files.find((f) => f.path === 'model.json')?.sha256, 'model.json is the same bytes');
    // Progress counts the reused files as loaded: version 2 reaches its total.
    const last2 = progress.filter((e) => e.version === 2 && e.phase === 'download').at(-1);
    assert.ok(last2 && last2.loadedBytes === last2.totalBytes && last2.totalBytes === p2.files.reduce((s, f) => s + f.size, 0), JSON.stringify(last2));

    // Version 2 serves the altered weights: it differs from version 1 and equals plain TF.js on the v2 files.
    const out2 = (await predict(server, 2)).outputs['Identity:0']!.data as Float32Array;
    const want2 = await plainTfjs(v2Dir);
    assert.ok(out2.some((v, i) => Math.abs(v - out1[i]!) > 1e-4), 'v2 answers differently from v1');
    for (let i = 0; i < want2.length; i++) assert.ok(Math.abs(want2[i]! - out2[i]!) < 1e-5, `output ${i}: ${out2[i]} vs ${want2[i]}`);

    // Version 1 leaves the store (latest-1 policy); the blobs version 2 shares stay, v1's own head goes.
    const store = new FileSystemModelStore(h.storeDir);
    await until('version 1 deleted from the store', async () => (await store.listVersions('emotion')).join() === '2');
    const blobs = (await readdir(join(h.storeDir, '.blobs'))).filter((n) => !n.startsWith('.'));
    assert.deepEqual(blobs.sort(), [...new Set(p2.files.map((f) => f.sha256))].sort(), 'the store holds exactly the blobs of version 2');
    await server.close();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor outlives the server');

    // Offline, from the store alone: version 2 loads and answers the same.
    await h.repo.close();
    const offline = await h.start({ models: ['emotion'] });
    const again = (await predict(offline, 2)).outputs['Identity:0']!.data as Float32Array;
    assert.deepEqual([...again], [...out2]);
  } finally {
    await h.close();
  }
});

test('shardByWeight: the published model answers exactly as the original, and publishing twice gives the same files', async () => {
  const h = await harness();
  try {
    const dir = await writeFineTunedEmotion(await tempDir('emotion'), 0);
    const a = await publishGraphModel(dir, join(h.repoDir, 'emotion'), { shardByWeight: true });
    const b = await publishGraphModel(dir, join(h.repoDir, 'emotion'), { shardByWeight: true });
    assert.deepEqual(a.files, b.files, 'deterministic: same paths, sizes and hashes');
    const json = JSON.parse(await readFile(join(h.repoDir, 'emotion', '1', 'model.json'), 'utf8'));
    assert.equal(json.weightsManifest.length, 23, 'one group per weight');
    assert.ok(json.weightsManifest.every((g: { paths: string[]; weights: unknown[] }) => g.paths.length === 1 && g.weights.length === 1));
    const server = await h.start({ models: ['emotion'] });
    const out = (await predict(server, 2)).outputs['Identity:0']!.data as Float32Array;
    const want = await plainTfjs(dir); // step 0: the original bytes
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i]! - out[i]!) < 1e-5, `output ${i}`);
  } finally {
    await h.close();
  }
});

test('the CLI: publish writes one shard per weight (the default, or --shard_by_weight); --noshard_by_weight keeps the shards as they come', async () => {
  const { main } = await import('../../src/cli/main.js');
  const repo = await tempDir('cli-repo');
  const err: string[] = [];
  const io = { stdout: () => undefined, stderr: (s: string) => void err.push(s) };
  const source = await writeFineTunedEmotion(await tempDir('emotion-cli'), 0);
  assert.equal(await main(['publish', source, join(repo, 'emotion'), '--shard_by_weight'], io), 0, err.join(''));
  assert.equal(await main(['publish', source, join(repo, 'emotion'), '--noshard_by_weight'], io), 0, err.join(''));
  assert.equal(await main(['publish', source, join(repo, 'emotion')], io), 0, err.join(''));
  const v1 = (await readdir(join(repo, 'emotion', '1'))).sort();
  assert.equal(v1.length, 24);
  assert.ok(v1.includes(`${shardBaseName('unknown_43')}.bin`));
  assert.deepEqual((await readdir(join(repo, 'emotion', '2'))).sort(), ['emotion.bin', 'model.json']);
  assert.deepEqual((await readdir(join(repo, 'emotion', '3'))).sort(), v1, 'by weight without a flag');
});
