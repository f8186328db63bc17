/**
 * Optimizations (constant folding, BatchNorm folding, fusion) must not change
 * outputs; quantized weights stay within the quantization's tolerance; shards
 * written to disk load over HTTP with the stock loader.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeGraphModel, type ConversionResult } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors, run, TFJS, TFS } from './helpers.js';

const KWS = fixture('realworld', 'mlcommons__tiny', 'kws_ref_model');
const LENET = fixture('realworld', 'tensorspace-team__tensorspace', 'tensorflow_model');
const work = mkdtempSync(join(tmpdir(), 'converter-write-'));
let server: Server;
let base = '';

before(async () => {
  await cpuBackend();
  server = createServer((req, res) => {
    try {
      const body = readFileSync(join(work, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
      res.writeHead(200, { 'content-type': req.url!.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

function ops(r: ConversionResult): string[] {
  return r.modelJson.modelTopology.node.map((n) => (n as { op: string }).op);
}

/** Deterministic pseudo-random input. */
function noise(n: number, seed = 1): number[] {
  let s = seed;
  return Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

async function outputsOf(r: ConversionResult, feeds: Record<string, [number[], number[]]>): Promise<number[]> {
  const start = numTensors();
  const model = await load(r);
  const [y] = await run(model, feeds);
  model.dispose();
  assert.equal(numTensors(), start, 'tensors leaked');
  return y!.values;
}

describe('optimizations keep outputs', () => {
  it('KWS DS-CNN: BatchNorm folded, _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul, same outputs as unoptimized', async () => {
    const fused = await convert(KWS);
    const plain = await convert(KWS, { optimize: false });
    const o = ops(fused);
    assert.ok(!o.includes('FusedBatchNormV3') && !o.includes('BiasAdd') && !o.includes('Relu'), o.join(','));
    assert.equal(o.filter((x) => x === '_FusedConv2D').length, 5);
    assert.equal(o.filter((x) => x === 'FusedDepthwiseConv2dNative').length, 4);
    assert.equal(o.filter((x) => x === '_FusedMatMul').length, 1);
    assert.ok(ops(plain).includes('FusedBatchNormV3'));
    const conv = fused.modelJson.modelTopology.node.find((n) => (n as { op: string }).op === '_FusedConv2D') as { attr: Record<string, { list?: { s?: string[] }; i?: string }> };
    assert.deepEqual(conv.attr.fused_ops!.list!.s!.map((s) => Buffer.from(s, 'base64').toString()), ['BiasAdd', 'Relu']);
    assert.equal(conv.attr.num_args!.i, '1');
    const feeds = { input_1: [noise(4 * 490), [4, 49, 10, 1]] as [number[], number[]] };
    assertClose(await outputsOf(fused, feeds), await outputsOf(plain, feeds), 1e-4, 'KWS fused vs unfused');
  });

  it('LeNet: fused vs unoptimized on random input', async () => {
    const fused = await convert(LENET);
    const plain = await convert(LENET, { optimize: false });
    assert.ok(ops(fused).includes('_FusedConv2D') && ops(fused).includes('_FusedMatMul'));
    const feeds = { input: [noise(2 * 1024, 7), [2, 32, 32, 1]] as [number[], number[]] };
    assertClose(await outputsOf(fused, feeds), await outputsOf(plain, feeds), 1e-4, 'LeNet fused vs unfused');
  });

  it('constant folding replaces constant sub-graphs (v1*v2 in uint8_multiply) and keeps the result', async () => {
    const r = await convert(TFJS('uint8_multiply'));
    assert.equal(r.weightSpecs.length, 1);
    assert.deepEqual(Array.from(new Int32Array(r.weightData)), [6]);
  });
});

describe('quantization', () => {
  it('float16 and uint8 weights decode within tolerance of the float32 conversion (KWS)', async () => {
    const feeds = { input_1: [noise(2 * 490, 3), [2, 49, 10, 1]] as [number[], number[]] };
    const ref = await outputsOf(await convert(KWS), feeds);
    const f16 = await convert(KWS, { quantization: { float16: true } });
    assert.ok(f16.weightSpecs.every((w) => w.dtype !== 'float32' || w.quantization?.dtype === 'float16'));
    assertClose(await outputsOf(f16, feeds), ref, 5e-3, 'float16');
    const u8 = await convert(KWS, { quantization: { uint8: true } });
    const w = u8.weightSpecs.find((s) => s.quantization)!;
    assert.equal(w.quantization!.dtype, 'uint8');
    assert.ok(typeof w.quantization!.min === 'number' && typeof w.quantization!.scale === 'number');
    assert.ok(u8.weightData.byteLength < f16.weightData.byteLength);
    const y = await outputsOf(u8, feeds);
    assert.ok(y.every((v, i) => Math.abs(v - ref[i]!) < 0.1), 'uint8 outputs within 0.1 of float32 softmax');
  });
  it('patterns pick weights by name (fnmatch)', async () => {
    const r = await convert(TFS('saved_model_half_plus_two_cpu'), { quantization: { uint8: ['a*'] } });
    assert.deepEqual(
      r.weightSpecs.map((w) => [w.name, w.quantization?.dtype ?? null]),
      [['a', 'uint8'], ['b', null]],
    );
  });
});

describe('writing model.json and shards', () => {
  it('writes group1-shardKofN.bin byte splits that load over HTTP with tf.loadGraphModel', async () => {
    const r = await convert(LENET);
    const dir = join(work, 'lenet');
    const files = writeGraphModel(r, dir, { weightShardSizeBytes: 100_000 });
    const total = r.weightData.byteLength;
    const n = Math.ceil(total / 100_000);
    assert.equal(files.length, n + 1);
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', ...Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`)].sort());
    assert.equal(statSync(join(dir, `group1-shard${n}of${n}.bin`)).size, total - (n - 1) * 100_000);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.format, 'graph-model');
    assert.ok(json.modelTopology.versions);
    assert.deepEqual(Object.keys(json.signature.inputs), ['input']);
    const start = numTensors();
    const model = await tf.loadGraphModel(`${base}/lenet/model.json?v=1`);
    const x = tf.ones([1, 32, 32, 1]);
    const y = model.execute({ input: x }) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 10]);
    const inMemory = await load(r);
    const y2 = inMemory.execute({ input: x }) as tf.Tensor;
    assertClose(y.dataSync(), y2.dataSync(), 1e-6);
    tf.dispose([x, y, y2]);
    model.dispose();
    inMemory.dispose();
    assert.equal(numTensors(), start);
  });

  it('sorted output keys and structuredOutputKeys make predict() return a map', async () => {
    const r = await convert(TFJS('model_multi_output'), { useStructuredOutputNames: true });
    assert.deepEqual(r.modelJson.userDefinedMetadata?.structuredOutputKeys, ['output_0', 'output_1']);
    assert.deepEqual(Object.keys((r.modelJson.signature as { outputs: object }).outputs), ['output_0', 'output_1']);
    const model = await load(r);
    const x = tf.scalar(3, 'int32');
    const y = tf.scalar(5, 'int32');
    const out = model.predict({ x, y }) as tf.NamedTensorMap;
    assert.deepEqual(Object.keys(out).sort(), ['output_0', 'output_1']);
    assert.equal(out.output_0!.dataSync()[0], 6);
    assert.equal(out.output_1!.dataSync()[0], 5);
    tf.dispose([x, y, ...Object.values(out)]);
    model.dispose();
  });

  it('reports progress and converts a 1 MB model well under a second', async () => {
    const stages: string[] = [];
    const t0 = performance.now();
    const r = await convert(KWS, { onProgress: (p) => stages.push(p.stage) });
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `conversion took ${ms} ms`);
    assert.deepEqual(stages, ['read', 'inline', 'cut', 'freeze', 'optimize', 'check', 'weights', 'done']);
    assert.ok(r.stats.ms < 1000);
  });
});
