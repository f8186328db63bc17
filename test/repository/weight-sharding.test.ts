// shardWeightsByName on hand-made graph models (pure logic; the real-model tests are in
// delta-download.test.ts): weights straddling shards, a weight over 4 MiB, string and quantized weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SHARD_BYTES, shardBaseName, shardWeightsByName } from '../../src/repository/weight-sharding.js';
import type { VersionFileData } from '../../src/repository/version-directory.js';
import { ServingError } from '../../src/core/status.js';

const enc = new TextEncoder();

function stringWeight(values: string[]): Uint8Array {
  const parts = values.flatMap((v) => {
    const bytes = enc.encode(v);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, bytes.length, true);
    return [len, bytes];
  });
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function pseudoRandom(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A graph model whose one weight group (four weights) is cut into two shards in the middle of a weight. */
function model(bigSeed = 1): { files: VersionFileData[]; weights: Record<string, Uint8Array> } {
  const weights = {
    'dense/kernel': pseudoRandom(4 * 3 * 5, 7),
    'big/embedding': pseudoRandom(4 * 1_100_000, bigSeed), // 4.4 MB: two parts
    'table/keys': stringWeight(['a', 'ünïcode', '']),
    'q/kernel': pseudoRandom(6, 9), // uint8-quantized float32 [2, 3]
  };
  const specs = [
    { name: 'dense/kernel', shape: [3, 5], dtype: 'float32' },
    { name: 'big/embedding', shape: [1_100_000], dtype: 'float32' },
    { name: 'table/keys', shape: [3], dtype: 'string' },
    { name: 'q/kernel', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.01 } },
  ];
  const all = concat(Object.values(weights));
  const cut = 1000;
  const json = { format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: specs }], extra: { kept: true } };
  return {
    weights,
    files: [
      { path: 'model.json', bytes: enc.encode(JSON.stringify(json)) },
      { path: 'group1-shard1of2.bin', bytes: all.subarray(0, cut) },
      { path: 'group1-shard2of2.bin', bytes: all.subarray(cut) },
      { path: 'warmup.json', bytes: enc.encode('{"requests":[]}') },
    ],
  };
}

test('each weight becomes its own group in files named by the weight; bytes, specs and other files are kept', () => {
  const { files, weights } = model();
  const out = shardWeightsByName(files, 'm');
  const json = JSON.parse(new TextDecoder().decode(out.find((f) => f.path === 'model.json')!.bytes));
  assert.deepEqual(json.extra, { kept: true });
  assert.deepEqual(json.weightsManifest.map((g: { weights: { name: string }[] }) => g.weights.map((w) => w.name)), [['dense/kernel'], ['big/embedding'], ['table/keys'], ['q/kernel']]);
  const byPath = new Map(out.map((f) => [f.path, f.bytes]));
  for (const g of json.weightsManifest as { paths: string[]; weights: { name: string }[] }[]) {
    const name = g.weights[0]!.name;
    assert.deepEqual([...concat(g.paths.map((p) => byPath.get(p)!))], [...weights[name as keyof typeof weights]!], `${name} keeps its bytes`);
    for (const p of g.paths) assert.match(p, /^[A-Za-z0-9_-]+\.[0-9a-f]{8}(-part\d+of\d+)?\.bin$/);
    assert.ok(g.paths.every((p) => byPath.get(p)!.length <= MAX_SHARD_BYTES));
  }
  const big = json.weightsManifest[1].paths;
  assert.deepEqual(big, [`${shardBaseName('big/embedding')}-part1of2.bin`, `${shardBaseName('big/embedding')}-part2of2.bin`]);
  assert.equal(shardBaseName('big/embedding').split('.')[0], 'big_embedding');
  assert.notEqual(shardBaseName('a/b'), shardBaseName('a_b'), 'names that slug alike still differ');
  assert.ok(byPath.has('warmup.json'));
  assert.ok(!byPath.has('group1-shard1of2.bin'), 'the old shards are gone');
});

test('the rule is stable: changing one weight changes only its shard', () => {
  const a = shardWeightsByName(model(1).files, 'm');
  const b = shardWeightsByName(model(2).files, 'm'); // big/embedding differs
  const differ = a.filter((f, i) => b[i]!.path !== f.path || Buffer.compare(Buffer.from(b[i]!.bytes), Buffer.from(f.bytes)) !== 0).map((f) => f.path);
  assert.equal(a.length, b.length);
  assert.deepEqual(differ, [`${shardBaseName('big/embedding')}-part1of2.bin`, `${shardBaseName('big/embedding')}-part2of2.bin`]);
});

test('bad models are refused with codes naming the problem', () => {
  const { files } = model();
  const short = files.map((f) => (f.path === 'group1-shard2of2.bin' ? { ...f, bytes: f.bytes.subarray(0, f.bytes.length - 3) } : f));
  assert.throws(() => shardWeightsByName(short, 'm'), (e: unknown) => e instanceof ServingError && e.code === 'DATA_LOSS' && /q\/kernel/.test(e.message));
  const missing = files.filter((f) => f.path !== 'group1-shard2of2.bin');
  assert.throws(() => shardWeightsByName(missing, 'm'), (e: unknown) => e instanceof ServingError && e.code === 'INVALID_ARGUMENT' && /group1-shard2of2\.bin/.test(e.message));
  const long = files.map((f) => (f.path === 'group1-shard2of2.bin' ? { ...f, bytes: concat([f.bytes, new Uint8Array(4)]) } : f));
  assert.throws(() => shardWeightsByName(long, 'm'), (e: unknown) => e instanceof ServingError && e.code === 'DATA_LOSS' && /shards hold/.test(e.message));
  assert.throws(() => shardWeightsByName(files.slice(1), 'm'), { code: 'INVALID_ARGUMENT' });
});
