// Predict, metadata and the bad-input matrix on real graph models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { harness, predictDense, valueOf } from '../helpers/serving.js';
import { denseExpected, denseModel, humanModel } from '../helpers/models.js';
import { publishGraphModel } from '../../src/repository/publish.js';
import { ServingError } from '../../src/index.js';
import type { ModelServer, PredictRequest } from '../../src/index.js';

const IN = 'dense_dense1_input:0';

test('bad-input matrix → INVALID_ARGUMENT (or NOT_FOUND) naming the input, what was given and what was expected; serving goes on', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const baseline = tf.memory().numTensors;
    const cases: Array<[string, Partial<PredictRequest> & Record<string, unknown>, string, RegExp]> = [
      ['unknown input', { inputs: { x: [[1]] } }, 'INVALID_ARGUMENT', /input "x" is not an input of signature "serving_default"; expected inputs: dense_dense1_input:0/],
      ['missing input', { inputs: {} }, 'INVALID_ARGUMENT', /input "dense_dense1_input:0" is missing/],
      ['a bare scalar for the one input', { inputs: 5 }, 'INVALID_ARGUMENT', /input "dense_dense1_input:0" has rank 0 \(shape \[\]\), but the graph's placeholder expects rank 2/],
      ['inputs null', { inputs: null as never }, 'INVALID_ARGUMENT', /inputs must be an object mapping input names \(dense_dense1_input:0\) to tensors, got null/],
      ['wrong dtype', { inputs: { [IN]: { dtype: 'int32', shape: [1, 1], data: [1] } } }, 'INVALID_ARGUMENT', /has dtype int32, but the graph's placeholder expects float32/],
      ['unknown dtype', { inputs: { [IN]: { dtype: 'float64', shape: [1, 1], data: [1] } as never } }, 'INVALID_ARGUMENT', /has dtype "float64"; expected one of float32, int32, bool, string/],
      ['typed array disagrees with dtype', { inputs: { [IN]: { dtype: 'float32', shape: [1, 1], data: new Int32Array([1]) } } }, 'INVALID_ARGUMENT', /says dtype float32, but its data is a Int32Array/],
      ['wrong rank', { inputs: { [IN]: [1, 2, 3] } }, 'INVALID_ARGUMENT', /has rank 1 \(shape \[3\]\), but the graph's placeholder expects rank 2 \(shape \[-1,1\]\)/],
      ['wrong fixed dimension', { inputs: { [IN]: [[1, 2]] } }, 'INVALID_ARGUMENT', /has shape \[1,2\], but the graph's placeholder expects \[-1,1\]: dimension 1 must be 1/],
      ['size does not match shape', { inputs: { [IN]: { shape: [2, 1], data: [1] } } }, 'INVALID_ARGUMENT', /has shape \[2,1\], which holds 2 values, but 1 values were given/],
      ['negative dimension', { inputs: { [IN]: { shape: [-1, 1], data: [1] } } }, 'INVALID_ARGUMENT', /invalid shape \[-1,1\]: dimension 0 must be a non-negative integer/],
      ['ragged nested array', { inputs: { [IN]: [[1], [2, 3]] } }, 'INVALID_ARGUMENT', /ragged nested array: dimension 1 has lengths 1 and 2/],
      ['string where a number is expected', { inputs: { [IN]: [['a']] } }, 'INVALID_ARGUMENT', /value 0 is "a", but the input is float32: expected a number/],
      ['null value', { inputs: { [IN]: null as never } }, 'INVALID_ARGUMENT', /input "dense_dense1_input:0" is missing|must be a nested array/],
      ['object without shape', { inputs: { [IN]: { data: [1] } as never } }, 'INVALID_ARGUMENT', /must be a nested array or \{dtype\?, shape, data\}, got an object/],
      ['unknown signature', { signatureName: 'classify', inputs: { [IN]: [[1]] } }, 'INVALID_ARGUMENT', /Serving signature name: "classify" not found in signature def; available: serving_default/],
      ['unknown model', { model: 'nope', inputs: { [IN]: [[1]] } }, 'NOT_FOUND', /Servable not found for request: Latest\(nope\)/],
      ['version not served', { version: 9, inputs: { [IN]: [[1]] } }, 'NOT_FOUND', /Servable not found for request: Specific\(m, 9\)/],
      ['negative version', { version: -1, inputs: { [IN]: [[1]] } }, 'INVALID_ARGUMENT', /version must be a non-negative integer, got -1/],
      ['version and label', { version: 1, label: 'stable', inputs: { [IN]: [[1]] } }, 'INVALID_ARGUMENT', /either version \(1\) or label \("stable"\), not both/],
      ['model not a string', { model: 42 as never, inputs: { [IN]: [[1]] } }, 'INVALID_ARGUMENT', /model must be a non-empty string, got 42/],
    ];
    for (const [name, request, code, message] of cases) {
      await assert.rejects(
        server.predict({ model: 'm', ...request } as PredictRequest),
        (e: unknown) => {
          assert.ok(e instanceof ServingError, `${name}: a ServingError`);
          assert.equal(e.code, code, `${name}: code (${e.message})`);
          assert.match(e.message, message, name);
          return true;
        },
      );
      assert.equal(valueOf(await predictDense(server, 2)), denseExpected(1, 0, 2), `still serving after: ${name}`);
    }
    assert.match(
      await server.predict({ model: 'm', inputs: { [IN]: [[1]] } }).then(() => 'ok'),
      /ok/,
    );
    assert.equal(tf.memory().numTensors, baseline, 'bad requests leave no tensor behind');
  } finally {
    await h.close();
  }
});

test('inputs as {shape, data} with a typed array, and as nested arrays, give the same outputs', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1, 1.5);
    const server = await h.start({});
    const a = await server.predict({ model: 'm', inputs: { [IN]: { dtype: 'float32', shape: [3, 1], data: new Float32Array([1, 2, 3]) } } });
    const b = await server.predict({ model: 'm', inputs: { [IN]: [[1], [2], [3]] } });
    assert.deepEqual(a.outputs, b.outputs);
    assert.deepEqual(a.outputs['Identity:0']!.shape, [3, 1]);
    assert.equal(a.outputs['Identity:0']!.dtype, 'float32');
    assert.deepEqual([...(a.outputs['Identity:0']!.data as Float32Array)], [1, 2, 3].map((x) => denseExpected(1.5, 0, x)));
  } finally {
    await h.close();
  }
});

test('getModelMetadata returns TF Serving\'s JSON with the double signature_def nesting', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 4);
    const server = await h.start({});
    const tensor = (name: string) => ({
      dtype: 'DT_FLOAT',
      tensor_shape: { dim: [{ size: '-1', name: '' }, { size: '1', name: '' }], unknown_rank: false },
      name,
    });
    assert.deepEqual(await server.getModelMetadata('m'), {
      model_spec: { name: 'm', signature_name: '', version: '4' },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: { [IN]: tensor(IN) },
              outputs: { 'Identity:0': tensor('Identity:0') },
              method_name: 'tensorflow/serving/predict',
              defaults: {},
            },
          },
        },
      },
    });
    await assert.rejects(server.getModelMetadata('m', 3), (e: ServingError) => e.code === 'NOT_FOUND');
    await assert.rejects(server.getModelStatus('nope'), (e: ServingError) => e.code === 'NOT_FOUND' && /Could not find any versions of model nope/.test(e.message));
    await assert.rejects(server.getModelStatus('m', 3), (e: ServingError) => e.code === 'NOT_FOUND' && /Could not find version 3 of model m/.test(e.message));
  } finally {
    await h.close();
  }
});

test('a shipped warmup.json is replayed before AVAILABLE; a failing warmup fails the load and v1 keeps serving', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const good = await denseModel(2, 0);
    await writeFile(join(good, 'warmup.json'), JSON.stringify({ requests: [{ inputs: { [IN]: [[1], [2]] } }] }));
    await publishGraphModel(good, join(h.repoDir, 'm'), { version: 2 });
    const bad = await denseModel(3, 0);
    await writeFile(join(bad, 'warmup.json'), JSON.stringify({ requests: [{ inputs: { wrong: [[1]] } }] }));
    await publishGraphModel(bad, join(h.repoDir, 'm'), { version: 3 });
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: { specific: { versions: [1, 2] } } }] });
    const stored = (await server.store.getVersion('m', 2))!.files.map((f) => f.path).sort();
    assert.deepEqual(stored.filter((p) => !p.endsWith('.bin')), ['model.json', 'warmup.json']);
    assert.ok(stored.some((p) => p.endsWith('.bin')), stored.join(', '));
    assert.equal((await predictDense(server, 1)).model.version, 2);
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: { specific: { versions: [2, 3] } } }] });
    const v3 = (await server.getModelStatus('m', 3)).model_version_status[0]!;
    assert.equal(v3.state, 'END');
    assert.equal(v3.status.error_code, 'INVALID_ARGUMENT');
    assert.match(v3.status.error_message, /warmup request 0 \(signature serving_default\) failed: .*input "wrong" is not an input/);
    assert.equal((await predictDense(server, 1)).model.version, 2);
  } finally {
    await h.close();
  }
});

/** The same model run by plain TF.js, for comparison. */
async function plainTfjs(jsonPath: string): Promise<tf.GraphModel> {
  const json = JSON.parse(await readFile(jsonPath, 'utf8'));
  const dir = jsonPath.slice(0, jsonPath.lastIndexOf('/'));
  const buffers = await Promise.all(json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths).map((p: string) => readFile(join(dir, p))));
  const weightData = buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return tf.loadGraphModel(tf.io.fromMemory({ ...json, weightSpecs: json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights), weightData }));
}

test('a real model from npm (human/emotion, 821 KB): batch of 2 equals plain TF.js execute, row for row', async () => {
  const h = await harness();
  let direct: tf.GraphModel | undefined;
  try {
    await publishGraphModel(humanModel('emotion'), join(h.repoDir, 'emotion'));
    const server: ModelServer = await h.start({ models: ['emotion'] });
    const data = new Float32Array(2 * 64 * 64).map((_, i) => ((i * 7919) % 256) / 255);
    const r = await server.predict({ model: 'emotion', inputs: { 'input_1:0': { shape: [2, 64, 64, 1], data } } });
    const out = r.outputs['Identity:0']!;
    assert.deepEqual(out.shape, [2, 7]);
    direct = await plainTfjs(humanModel('emotion'));
    const expected = direct.execute(tf.tensor(data, [2, 64, 64, 1])) as tf.Tensor;
    const want = await expected.data();
    expected.dispose();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(want[i]! - (out.data as Float32Array)[i]!) < 1e-6, `output ${i}`);
    const row = (k: number) => [...(out.data as Float32Array).slice(k * 7, k * 7 + 7)];
    assert.ok(Math.abs(row(0).reduce((a, b) => a + b, 0) - 1) < 1e-4, 'softmax row sums to 1');
    assert.equal((await server.getModelMetadata('emotion')).model_spec.version, '1');
  } finally {
    direct?.dispose();
    await h.close();
  }
});

test('a real model with dynamic ops (human/handtrack) runs through executeAsync and matches plain TF.js', async () => {
  const h = await harness();
  let direct: tf.GraphModel | undefined;
  try {
    await publishGraphModel(humanModel('handtrack'), join(h.repoDir, 'hands'));
    const server = await h.start({ models: ['hands'] });
    const meta = (await server.getModelMetadata('hands')).metadata.signature_def.signature_def as Record<string, { inputs: Record<string, unknown> }>;
    const inputKey = Object.keys(meta.serving_default!.inputs)[0]!;
    const data = new Int32Array(320 * 320 * 3).map((_, i) => (i * 31) % 256);
    const r = await server.predict({ model: 'hands', inputs: { [inputKey]: { dtype: 'int32', shape: [1, 320, 320, 3], data } } });
    direct = await plainTfjs(humanModel('handtrack'));
    const input = tf.tensor(data, [1, 320, 320, 3], 'int32');
    const names = Object.values(direct.outputs).map((o) => o.name);
    const expected = (await direct.executeAsync(input, names)) as tf.Tensor[];
    input.dispose();
    const keys = Object.keys(r.outputs);
    assert.ok(keys.length >= 1);
    for (const t of expected) {
      const match = Object.values(r.outputs).some((o) => o.shape.join() === t.shape.join() && [...o.data].join() === [...t.dataSync()].join());
      assert.ok(match, `an output equals plain TF.js's ${t.shape}`);
    }
    tf.dispose(expected);
  } finally {
    direct?.dispose();
    await h.close();
  }
});

test('TF.js test models: a hash table built by the model initializer, and structured output keys mapped right', async () => {
  const h = await harness();
  try {
    const { MATMUL_MODEL_DIR } = await import('../helpers/models.js');
    const fixtures = join(MATMUL_MODEL_DIR, '..');
    await publishGraphModel(join(fixtures, 'hash_table_v2'), join(h.repoDir, 'table'));
    await publishGraphModel(join(fixtures, 'structured_outputs'), join(h.repoDir, 'structured'));
    const server = await h.start({ models: ['table', 'structured'] });
    const baseline = tf.memory().numTensors;

    // The resource input (the table) is the model's own: requests give only the keys.
    const meta = (await server.getModelMetadata('table')).metadata.signature_def.signature_def as Record<string, { inputs: object }>;
    assert.deepEqual(Object.keys(meta.serving_default!.inputs), ['input']);
    for (let i = 0; i < 3; i++) {
      const r = await server.predict({ model: 'table', inputs: { input: ['a', 'b', 'c'] } });
      assert.equal(r.outputs.output_0!.dtype, 'int32');
      assert.deepEqual([...(r.outputs.output_0!.data as Int32Array)], [0, 1, -1]);
    }

    // TF.js 4.22's predict() zips these keys onto the JSON order and swaps a and b; we map by tensor name.
    const s = await server.predict({ model: 'structured', inputs: { 'input1:0': [[1]], 'input2:0': [[1]], 'input3:0': [[1]] } });
    const value = (k: string) => (s.outputs[k]!.data as Float32Array)[0]!;
    assert.deepEqual(Object.keys(s.outputs).sort(), ['a', 'b', 'c']);
    assert.ok(Math.abs(value('a') - (0.23656249 - 0.57352048)) < 1e-6, `a = ${value('a')}`);
    assert.ok(Math.abs(value('b') - 0.29097784) < 1e-6, `b = ${value('b')}`);
    assert.ok(Math.abs(value('c') - value('a') * value('b')) < 1e-6, `c = ${value('c')}`);
    assert.equal(tf.memory().numTensors, baseline, 'no tensor leaked, and the table itself was not disposed');
    assert.deepEqual([...((await server.predict({ model: 'table', inputs: { input: ['b'] } })).outputs.output_0!.data as Int32Array)], [1]);
  } finally {
    await h.close();
  }
});

test('older converters: a model with no signature is served by its graph inputs; a signature in userDefinedMetadata is read', async () => {
  const h = await harness();
  try {
    const { MATMUL_MODEL_DIR } = await import('../helpers/models.js');
    await publishGraphModel(join(MATMUL_MODEL_DIR, '..', 'no_signature'), join(h.repoDir, 'dense10'));
    await publishGraphModel(MATMUL_MODEL_DIR, join(h.repoDir, 'matmul'));
    const server = await h.start({ models: ['dense10', 'matmul'] });
    const meta = (await server.getModelMetadata('dense10')).metadata.signature_def.signature_def as Record<string, { inputs: Record<string, { name: string }> }>;
    assert.deepEqual(Object.keys(meta.serving_default!.inputs), ['dense_dense2_input']);
    const ones = await server.predict({ model: 'dense10', inputs: { dense_dense2_input: [Array(10).fill(1)] } });
    const range = await server.predict({ model: 'dense10', inputs: { dense_dense2_input: [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]] } });
    const only = (r: typeof ones) => (Object.values(r.outputs)[0]!.data as Float32Array)[0]!;
    assert.ok(Math.abs(only(ones) - 0.99542627) < 1e-5, String(only(ones)));
    assert.ok(Math.abs(only(range) - -2.3041925) < 1e-5, String(only(range)));
    const m = await server.predict({ model: 'matmul', inputs: { 'Placeholder:0': [[1, 1], [1, 1]] } });
    const expected = [0.7567615509033203, -0.18349379301071167, 0.7567615509033203, -0.18349379301071167];
    [...(m.outputs['MatMul:0']!.data as Float32Array)].forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
  } finally {
    await h.close();
  }
});
