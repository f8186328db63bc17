/**
 * Classify/regress over REST with sparse tf.Example features: `featureTensors` builds a VarLen feature's
 * indices / values / dense_shape from the request's examples (as ParseExample does), keyed by the
 * signature's input names, and the converted model (a SavedModel written by
 * bench/fixtures/saved-model-writer.ts, converted in-process) computes x + Σ tokens from them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeSparseExampleSavedModel } from '../../bench/fixtures/sparse-example-savedmodel.js';
import { convertSavedModel, loadGraphModelFromResult } from '../../converter/index.js';
import { examplesFromJson, featureTensors, parseSpecFromModelJson, regressResponseJson, type ParseSpecJson } from '../../src/rest/examples.js';
import { ServingError } from '../../src/core/status.js';
import type { JsonValue } from '../../src/rest/json.js';

const work = mkdtempSync(join(tmpdir(), 'rest-sparse-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  await tf.setBackend('cpu');
  tf.env().set('IS_TEST', true);
});

const spec: ParseSpecJson = {
  features: [
    { kind: 'sparse', key: 'ids', dtype: 'int32', inputs: { indices: 'ids/indices', values: 'ids/values', denseShape: 'ids/dense_shape' } },
    { key: 'w', dtype: 'float32', shape: [1], defaultValue: [0.5] },
  ],
};

describe('sparse features in classify/regress requests', () => {
  it('builds indices, values and dense_shape per ParseExample (context merged, missing = empty row)', () => {
    const examples = examplesFromJson({ context: { ids: [9] }, examples: [{ ids: [4, 5] }, { w: 2 }, { ids: [] }, { ids: 7, w: [1] }] }, 'regress');
    const t = featureTensors(examples, spec);
    assert.deepEqual(Object.keys(t).sort(), ['ids/dense_shape', 'ids/indices', 'ids/values', 'w']);
    // Example 1 takes ids [9] from the context; example 2's own empty list wins over it.
    assert.deepEqual(t['ids/indices'], { dtype: 'int32', shape: [4, 2], data: [0, 0, 0, 1, 1, 0, 3, 0] });
    assert.deepEqual(t['ids/values'], { dtype: 'int32', shape: [4], data: [4, 5, 9, 7] });
    assert.deepEqual(t['ids/dense_shape'], { dtype: 'int32', shape: [2], data: [4, 2] });
    assert.deepEqual(t.w, { dtype: 'float32', shape: [4, 1], data: [0.5, 2, 0.5, 1] });
  });

  it('rejects values of the wrong type, naming the feature', () => {
    const examples = examplesFromJson({ examples: [{ ids: [1.5] }] }, 'regress');
    assert.throws(() => featureTensors(examples, spec), (e: unknown) => e instanceof ServingError && e.code === 'INVALID_ARGUMENT' && /Feature: ids\..*Expected type: int64, got 1\.5/.test(e.message));
  });

  it('feeds a converted regress signature through its recorded parse spec', async () => {
    const { dir } = writeSparseExampleSavedModel(join(work, 'sparse'));
    const r = await convertSavedModel(dir);
    const parsed = parseSpecFromModelJson(r.modelJson, 'serving_default')!;
    const body: { [key: string]: JsonValue } = { examples: [{ x: 1, tokens: [1, 2, 3] }, { x: [2] }, { x: 3, tokens: 10 }] };
    const examples = examplesFromJson(body, 'regress');
    const features = featureTensors(examples, parsed);
    const sig = r.signatures[0]!;
    // Every tensor feeds a signature input of that name (what the REST handler checks).
    for (const k of Object.keys(features)) assert.ok(sig.inputs[k], `signature input ${k}`);
    const start = tf.memory().numTensors;
    const model = loadGraphModelFromResult(r);
    const feeds: tf.NamedTensorMap = {};
    for (const [k, v] of Object.entries(features)) feeds[sig.inputs[k]!.name] = tf.tensor(v.data as number[], v.shape, v.dtype);
    const y = (await model.executeAsync(feeds, sig.outputs.outputs!.name)) as tf.Tensor;
    const out = { outputs: { dtype: 'float32' as const, shape: y.shape.slice(), data: y.dataSync() as Float32Array } };
    assert.deepEqual(JSON.parse(regressResponseJson(out as never, examples.length, 'serving_default')), { results: [7, 2, 13] });
    tf.dispose([y, ...Object.values(feeds)]);
    model.dispose();
    assert.equal(tf.memory().numTensors, start, 'no tensor leaks');
  });

  // Last: the server may switch TF.js's backend.
  it('end to end: POST :regress with VarLen features to a served SavedModel', async () => {
    const { LocalModelServer } = await import('../../src/node.js');
    const { startRestServer } = await import('../../src/rest/node-http.js');
    const root = join(work, 'repo');
    writeSparseExampleSavedModel(join(root, 'sparse', '1'));
    const server = await LocalModelServer.start({ modelConfigList: [{ name: 'sparse', basePath: join(root, 'sparse') }], pollIntervalMs: 0, backends: ['cpu'] });
    const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
    try {
      const post = async (body: unknown) => {
        const r = await fetch(`http://127.0.0.1:${rest.port}/v1/models/sparse:regress`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
        return { status: r.status, json: JSON.parse(await r.text()) as unknown };
      };
      let r = await post({ examples: [{ x: 1, tokens: [1, 2, 3] }, { x: [2] }, { x: 3, tokens: 10 }] });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json, { results: [7, 2, 13] });
      r = await post({ context: { tokens: [0.5] }, examples: [{ x: 1 }, { x: 2, tokens: [] }] });
      assert.deepEqual(r.json, { results: [1.5, 2] });
      r = await post({ examples: [{ x: 1, tokens: ['a'] }] });
      assert.equal(r.status, 400);
      assert.match(JSON.stringify(r.json), /Feature: tokens/);
    } finally {
      await rest.close();
      await server.close();
    }
  });
});
