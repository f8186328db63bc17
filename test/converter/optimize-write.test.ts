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
import { encodeUtf8, listAttr, makeConst, type Graph } from '../../converter/graph/graph.js';
import { checkOpsSupported } from '../../converter/graph/op-support.js';
import { optimizeGraph } from '../../converter/graph/optimize.js';
import type { NodeDef } from '../../converter/proto/messages.js';
import { buildGraphModel } from '../../converter/writer/graph-model-writer.js';

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

describe('PReLU (Keras pattern) → Prelu, fused into _FusedConv2D / _FusedMatMul', () => {
  // In-memory graphs through the optimizer, then loaded with the stock loader and compared with the
  // same graph unoptimized.
  const F = { type: 1 }; // DT_FLOAT
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = { T: F }): NodeDef => ({ name, op, input, attr: attr as NodeDef['attr'] });
  const c = (name: string, shape: number[], seed: number): NodeDef =>
    makeConst(name, { dtype: 1, shape, values: new Float32Array(noise(shape.reduce((a, b) => a * b, 1), seed)) });
  /** `Add(Relu(pre), Mul(Const -alpha, Relu(Neg(pre))))` after `pre`. */
  const prelu = (pre: string, alphaShape: number[]): NodeDef[] => [
    c('neg_alpha', alphaShape, 7),
    node('pos', 'Relu', [pre]),
    node('neg_x', 'Neg', [pre]),
    node('neg_relu', 'Relu', ['neg_x']),
    node('neg_part', 'Mul', ['neg_alpha', 'neg_relu']),
    node('prelu', 'AddV2', ['pos', 'neg_part']),
    node('out', 'Identity', ['prelu']),
  ];
  const ph = (name: string, shape: number[]): NodeDef =>
    node(name, 'Placeholder', [], { dtype: F, shape: { shape: { dim: shape.map((size) => ({ size })) } } });
  const conv = (): NodeDef[] => [
    ph('x', [-1, 5, 5, 2]), c('w', [3, 3, 2, 4], 2), c('b', [4], 3),
    node('conv', 'Conv2D', ['x', 'w'], { T: F, strides: listAttr({ i: [1, 1, 1, 1] }), padding: { s: encodeUtf8('SAME') }, dilations: listAttr({ i: [1, 1, 1, 1] }), data_format: { s: encodeUtf8('NHWC') } }),
    node('bias', 'BiasAdd', ['conv', 'b']),
    ...prelu('bias', [1, 1, 4]),
  ];
  const dense = (): NodeDef[] => [
    ph('x', [-1, 6]), c('w', [6, 3], 4), c('b', [3], 5),
    node('mm', 'MatMul', ['x', 'w']),
    node('bias', 'AddV2', ['mm', 'b']), // normalized to BiasAdd first
    ...prelu('bias', [3]),
  ];

  async function evaluate(nodes: NodeDef[], shape: number[], optimize: boolean): Promise<{ ops: string[]; fused?: NodeDef; y: number[] }> {
    const graph: Graph = { nodes, functions: new Map() };
    if (optimize) optimizeGraph(graph, { keep: new Set(['out']), fuse: true });
    checkOpsSupported(graph.nodes, [], 'test');
    const built = buildGraphModel(graph, { generatedBy: '', versions: undefined, signature: null });
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: built.modelJson.modelTopology as unknown as {}, weightSpecs: built.weightSpecs as tf.io.WeightsManifestEntry[], weightData: built.weightData }));
    const x = tf.tensor(noise(shape.reduce((a, b) => a * b, 1), 11), shape);
    const out = model.execute({ x }, 'out') as tf.Tensor;
    const y = Array.from(out.dataSync());
    tf.dispose([x, out]);
    model.dispose();
    const fused = graph.nodes.find((n) => n.op.startsWith('_Fused'));
    return { ops: graph.nodes.map((n) => n.op), ...(fused ? { fused } : {}), y };
  }

  for (const [label, make, shape, op] of [
    ['Conv2D + BiasAdd + PReLU', conv, [2, 5, 5, 2], '_FusedConv2D'],
    ['MatMul + Add + PReLU', dense, [4, 6], '_FusedMatMul'],
  ] as const) {
    it(`${label} → ${op} with fused_ops [BiasAdd, Prelu], same outputs`, async () => {
      const plain = await evaluate(make(), [...shape], false);
      const fused = await evaluate(make(), [...shape], true);
      assert.deepEqual(fused.ops.filter((o) => o !== 'Const').sort(), ['Identity', 'Placeholder', op].sort(), fused.ops.join(','));
      const attr = fused.fused!.attr;
      assert.deepEqual(attr.fused_ops!.list!.s.map((b) => new TextDecoder().decode(b)), ['BiasAdd', 'Prelu']);
      assert.equal(Number(attr.num_args!.i), 2);
      assert.deepEqual(fused.fused!.input.slice(2), ['b', 'prelu/alpha']);
      assert.ok(plain.y.some((v) => v < 0) && plain.y.some((v) => v > 0), 'both PReLU branches exercised');
      assertClose(fused.y, plain.y, 1e-5, `${label} fused vs unfused`);
    });
  }

  it('a PReLU without a fusable producer becomes a standalone Prelu', async () => {
    const nodes = [ph('x', [-1, 3]), ...prelu('x', [3])];
    const plain = await evaluate(nodes.map((n) => ({ ...n, input: n.input.slice() })), [4, 3], false);
    const fused = await evaluate(nodes, [4, 3], true);
    assert.ok(fused.ops.includes('Prelu') && !fused.ops.includes('Relu'), fused.ops.join(','));
    assertClose(fused.y, plain.y, 1e-6);
  });
});
