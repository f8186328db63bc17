// Ranks 0–8 for every dtype on the cpu and wasm backends, over real HTTP on 127.0.0.1: the wasm
// backend's XNNPACK kernels (Add, Mul, Sub, RealDiv, SquaredDifference, Pad) return uninitialized
// memory at rank ≥ 7, so there a request is refused with INVALID_ARGUMENT naming the input and the
// limit, never answered 200 with garbage. cpu answers right at every rank.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { LocalModelServer } from '../../src/index.js';
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
  test(`ranks 0–8, every dtype, ${backend} backend: right answers, or INVALID_ARGUMENT at the backend's rank limit`, async () => {
    const { server, rest, url } = await serveModels(backend);
    try {
      assert.equal(tf.getBackend(), backend);
      const before = tf.memory().numTensors;
      const limit = backend === 'wasm' ? 6 : Infinity;
      for (const [dtype, c] of Object.entries(CASES)) {
        for (let rank = 0; rank <= 8; rank++) {
          const what = `${dtype} rank ${rank} on ${backend}`;
          const r = await fetch(`${url}/v1/models/${c.model}:predict`, { method: 'POST', body: JSON.stringify({ inputs: nest(c.values, rank) }) });
          const body = (await r.json()) as { outputs?: unknown; error?: string };
          if (rank <= limit) {
            assert.equal(r.status, 200, `${what}: ${JSON.stringify(body)}`);
            const want = rank === 0 ? c.expect(c.values[0]) : nest([c.expect(c.values[0]), c.expect(c.values[1])] as [unknown, unknown], rank);
            assert.deepEqual(body.outputs, want, what);
          } else {
            assert.equal(r.status, 400, `${what}: ${JSON.stringify(body)}`);
            assert.match(body.error ?? '', /input "x(:0)?" has rank \d \(shape \[2,1(,1)*\]\), but the wasm backend computes tensors of rank at most 6/, what);
          }
        }
      }
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    } finally {
      await rest.close();
      await server.close();
    }
  });
}
