/**
 * Sparse tf.Example features (`VarLenFeature`) in a regress signature's parse spec: the converter cuts
 * ParseExample's sparse outputs into three signature inputs (indices, values, dense_shape) and records
 * them in the parse spec; `run` builds them from examples as ParseExample does. The SavedModel is written
 * by bench/fixtures/saved-model-writer.ts; expected outputs are x + Σ tokens per example.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeSparseExampleSavedModel } from '../../bench/fixtures/sparse-example-savedmodel.js';
import { runSavedModel } from '../../converter/index.js';
import { convert, cpuBackend, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-sparse-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

for (const op of ['ParseExample', 'ParseExampleV2'] as const) describe(`sparse (VarLen) tf.Example features (${op})`, () => {
  const { dir } = writeSparseExampleSavedModel(join(work, `sparse-${op}`), op);

  it('records the sparse feature in the parse spec, with three signature inputs', async () => {
    const r = await convert(dir);
    const sig = r.signatures[0]!;
    assert.deepEqual(Object.keys(sig.inputs).sort(), ['tokens/dense_shape', 'tokens/indices', 'tokens/values', 'x']);
    assert.equal(sig.inputs['tokens/indices']!.dtype, 'DT_INT64');
    assert.deepEqual(sig.inputs['tokens/indices']!.shape, [-1, 2]);
    assert.equal(sig.inputs['tokens/values']!.dtype, 'DT_FLOAT');
    const spec = sig.parseSpec!;
    const sparse = spec.features.find((f) => f.key === 'tokens')!;
    assert.equal(sparse.kind, 'sparse');
    assert.equal(sparse.dtype, 'float32');
    assert.ok(sparse.kind === 'sparse');
    assert.deepEqual(sparse.inputs, { indices: 'tokens/indices', values: 'tokens/values', denseShape: 'tokens/dense_shape' });
    const dense = spec.features.find((f) => f.key === 'x')!;
    assert.ok(dense.kind === undefined && dense.defaultValue === null);
    assert.deepEqual((r.modelJson.userDefinedMetadata!.signatures as Record<string, { parseSpec: unknown }>).serving_default!.parseSpec, JSON.parse(JSON.stringify(spec)));
    assert.equal(spec.op, op);
    assert.ok(!JSON.stringify(r.modelJson.modelTopology).includes(`"${op}"`), 'the parse is cut away');
  });

  it('run builds indices / values / dense_shape from the examples (missing = empty)', async () => {
    const examples = [{ x: [1], tokens: [1, 2, 3] }, { x: [2] }, { x: [3], tokens: [10] }, { x: [-1], tokens: [] }];
    const start = numTensors();
    const out = await runSavedModel(dir, { signatureName: 'serving_default', examples });
    assert.equal(numTensors(), start, 'no tensor leaks');
    const expected = examples.map((e) => [e.x[0]! + (e.tokens ?? []).reduce((a, b) => a + b, 0)]);
    assert.deepEqual(out.outputs!.value, expected);
    // No example has a token: dense_shape [batch, 0].
    const none = await runSavedModel(dir, { signatureName: 'serving_default', examples: [{ x: [4] }, { x: [5] }] });
    assert.deepEqual(none.outputs!.value, [[4], [5]]);
  });
});
