// Ranks 0–8 for every dtype on the cpu and wasm backends, over real HTTP on 127.0.0.1. TF.js's wasm
// backend runs Add, Sub, Multiply, RealDiv, SquaredDifference and PadV2 through XNNPACK, which
// returns uninitialized memory above rank 6 (half_plus_two answered 3.6e-41 for a rank-7 input), and
// casts to bool by copying bytes: runtime/wasm-kernel-fixes.ts runs them on merged-dimension views,
// so every rank answers right on both backends.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { LocalModelServer } from '../../src/node.js';
import { startRestServer } from '../../src/rest/node-http.js';
import { removeTempDirs, tempDir } from '../helpers/models.js';

const here = dirname(fileURLToPath(import.meta.url));
const HALF_PLUS_TWO = join(here, '..', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

after(() => removeTempDirs());

/** A one-op TF.js graph model `y = op(x, …)` whose input has unknown rank. */
async function oneOpModel(dir: string, tfDtype: string, op: string, inputs: string[], outDtype = tfDtype): Promise<void> {
  const unknown = { unknownRank: true };
  const attrs: Record<string, unknown> = op === 'Identity' || op === 'AddV2' ? { T: { type: tfDtype } } : {};
  const model = {
    format: 'graph-model',
    generatedBy: 'high-rank.test.ts',
    convertedBy: 'hand',
    signature: {
      inputs: { 'x:0': { name: 'x:0', dtype: tfDtype, tensorShape: unknown } },
      outputs: { 'y:0': { name: 'y:0', dtype: outDtype, tensorShape: unknown } },
    },
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: tfDtype }, shape: { shape: unknown } } },
        { name: 'y', op, input: inputs, attr: attrs },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [],
  };
  await mkdir(join(dir, '1'), { recursive: true });
  await writeFile(join(dir, '1', 'model.json'), JSON.stringify(model));
}

interface Case {
  model: string;
  /** The two input values (a rank-0 request uses the first). */
  values: [unknown, unknown];
  expect: (v: unknown) => unknown;
}

const CASES: Record<string, Case> = {
  float32: { model: 'half_plus_two', values: [1.0, 3.0], expect: (v) => (v as number) * 0.5 + 2 },
  int32: { model: 'int_double', values: [3, -7], expect: (v) => (v as number) * 2 },
  bool: { model: 'bool_not', values: [true, false], expect: (v) => !v },
  string: { model: 'string_identity', values: ['a', 'bc'], expect: (v) => v },
};

/** A value of shape [2, 1, 1, …] (rank r) holding the two values, or the first alone at rank 0. */
function nest(values: [unknown, unknown], rank: number): unknown {
  if (rank === 0) return values[0];
  let inner: (v: unknown) => unknown = (v) => v;
  for (let i = 1; i < rank; i++) {
    const prev = inner;
    inner = (v) => [prev(v)];
  }
  return values.map((v) => inner(v));
}

async function serveModels(backend: 'cpu' | 'wasm') {
  const root = await tempDir(`high-rank-${backend}`);
  await cp(HALF_PLUS_TWO, join(root, 'half_plus_two', '1'), { recursive: true });
  await oneOpModel(join(root, 'int_double'), 'DT_INT32', 'AddV2', ['x', 'x']);
  await oneOpModel(join(root, 'bool_not'), 'DT_BOOL', 'LogicalNot', ['x']);
  await oneOpModel(join(root, 'string_identity'), 'DT_STRING', 'Identity', ['x']);
  const server = await LocalModelServer.start({
    modelConfigList: Object.values(CASES).map((c) => ({ name: c.model, basePath: join(root, c.model) })),
    pollIntervalMs: 0,
    backends: [backend],
    enableModelWarmup: false,
  });
  const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
  return { server, rest, url: `http://127.0.0.1:${rest.port}` };
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`ranks 0–8, every dtype, ${backend} backend: right answers`, async () => {
    const { server, rest, url } = await serveModels(backend);
    try {
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      for (const [dtype, c] of Object.entries(CASES)) {
        for (let rank = 0; rank <= 8; rank++) {
          const what = `${dtype} rank ${rank} on ${backend}`;
          const r = await fetch(`${url}/v1/models/${c.model}:predict`, { method: 'POST', body: JSON.stringify({ inputs: nest(c.values, rank) }) });
          const body = (await r.json()) as { outputs?: unknown; error?: string };
          assert.equal(r.status, 200, `${what}: ${JSON.stringify(body)}`);
          const want = rank === 0 ? c.expect(c.values[0]) : nest([c.expect(c.values[0]), c.expect(c.values[1])] as [unknown, unknown], rank);
          assert.deepEqual(body.outputs, want, what);
        }
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    } finally {
      await rest.close();
      await server.close();
    }
  });
}

// The kernels found wrong at high rank (and Cast to bool, wrong at every rank) against cpu, inside
// graphs too: shapes with size-1 and broadcast dimensions in every position, ranks 1 and 6–8.
const SHAPES: Record<number, number[]> = { 1: [4], 6: [2, 1, 3, 1, 2, 2], 7: [2, 1, 3, 1, 2, 1, 2], 8: [2, 1, 3, 1, 2, 1, 2, 1] };
const OPS: Array<[string, (x: tf.Tensor, y: tf.Tensor) => tf.Tensor]> = [
  ['add', (x, y) => tf.add(x, y)],
  ['add scalar', (x) => tf.add(x, tf.scalar(2))],
  ['scalar sub', (x) => tf.sub(tf.scalar(2), x)],
  ['sub', (x, y) => tf.sub(x, y)],
  ['mul', (x, y) => tf.mul(x, y)],
  ['div', (x, y) => tf.div(x, y)],
  ['squared difference', (x, y) => tf.squaredDifference(x, y)],
  ['add, first dim broadcast', (x, y) => tf.add(x, tf.slice(y, new Array(y.rank).fill(0), [1, ...y.shape.slice(1)]))],
  ['mul, last dim broadcast', (x, y) => tf.mul(x, tf.slice(y, new Array(y.rank).fill(0), [...y.shape.slice(0, -1), 1]))],
  ['add, rank-1 operand', (x, y) => tf.add(x, tf.reshape(tf.slice(y.reshape([-1]), [0], [x.shape[x.rank - 1]!]), [x.shape[x.rank - 1]!]))],
  ['int32 add', (x, y) => tf.add(tf.cast(x, 'int32'), tf.cast(y, 'int32'))],
  ['pad some dims', (x) => tf.pad(x, x.shape.map((_, i) => (i % 3 === 0 ? [1, 0] : [0, 0]) as [number, number]))],
  ['pad every dim', (x) => tf.pad(x, x.shape.map(() => [1, 1] as [number, number]), 7)],
  ['cast to bool', (x) => tf.cast(x, 'bool')],
  ['logical not', (x) => tf.logicalNot(tf.cast(x, 'bool'))],
  ['logical and', (x, y) => tf.logicalAnd(tf.cast(x, 'bool'), tf.cast(y, 'bool'))],
  ['addN', (x, y) => tf.addN([x, y, x])],
  ['mod', (x, y) => tf.mod(x, tf.abs(y).add(1))],
];

test('wasm kernels at ranks 1 and 6–8 (Add, Sub, Multiply, RealDiv, SquaredDifference, PadV2, Cast to bool) agree with cpu, without leaks', async () => {
  const { selectBackend } = await import('../../src/runtime/backends.js');
  const results: Record<string, Record<string, unknown>> = { cpu: {}, wasm: {} };
  for (const backend of ['cpu', 'wasm'] as const) {
    await selectBackend([backend]);
    const before = tf.memory().numTensors;
    for (const [rank, shape] of Object.entries(SHAPES)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(Array.from({ length: n }, (_, i) => ((i * 7) % 11) - 5 + 0.5), shape);
      const y = tf.tensor(Array.from({ length: n }, (_, i) => ((i * 5) % 13) - 6 + 0.25), shape);
      for (const [name, f] of OPS) {
        const t = tf.tidy(() => f(x, y));
        results[backend]![`${name} @ rank ${rank}`] = { shape: t.shape, values: Array.from(t.dataSync()) };
        t.dispose();
      }
      tf.dispose([x, y]);
    }
    assert.equal(tf.memory().numTensors, before, `${backend}: no tensor leaked`);
  }
  for (const key of Object.keys(results.cpu!)) {
    const c = results.cpu![key] as { shape: number[]; values: number[] };
    const w = results.wasm![key] as { shape: number[]; values: number[] };
    assert.deepEqual(w.shape, c.shape, key);
    c.values.forEach((v, i) => assert.ok(Math.abs(v - w.values[i]!) <= 1e-5 * Math.max(1, Math.abs(v)), `${key}: value ${i} is ${w.values[i]} on wasm, ${v} on cpu`));
  }
});
