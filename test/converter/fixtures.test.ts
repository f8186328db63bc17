/**
 * Every SavedModel fixture is converted, loaded with the stock
 * `tf.loadGraphModel` (via tf.io.fromMemory) and executed; outputs must equal
 * the formula in the fixture's INDEX.md.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as tf from '@tensorflow/tfjs';
import type { ConvertOptions } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors, run, TFJS, TFS } from './helpers.js';

type Feeds = Record<string, [number[], number[], tf.DataType?]>;

/** Converts `dir`, runs it on `feeds`, checks each output against `expected`, and checks nothing leaked. */
async function check(dir: string, opts: ConvertOptions, feeds: Feeds, expected: number[][], outputNames?: string[]) {
  const r = await convert(dir, opts);
  assert.equal(r.modelJson.format, 'graph-model');
  assert.ok(r.modelJson.modelTopology.versions, 'modelTopology.versions must be set');
  const start = numTensors();
  const model = await load(r);
  const out = await run(model, feeds, outputNames);
  model.dispose();
  assert.equal(numTensors(), start, 'tensors leaked');
  assert.equal(out.length, expected.length);
  out.forEach((o, i) => assertClose(o.values, expected[i]!, 1e-6, `output ${i}`));
  return { r, out };
}

const halfPlusTwo = (xs: number[], c = 2) => xs.map((x) => 0.5 * x + c);

before(cpuBackend);

describe('TF Serving TF1 fixtures (VariableV2 / VarHandleOp, ParseExample upstream of x:0)', () => {
  it('matrix_half_plus_two: y = 0.5x + 2 on 3x3 matrices (constants only, no variables dir)', async () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    await check(fixture('tfserving', 'matrix_half_plus_two', '1'), {}, { x: [x, [1, 3, 3]] }, [halfPlusTwo(x)]);
  });

  const tf1 = [
    'saved_model_half_plus_two_cpu',
    'saved_model_half_plus_two_gpu',
    'saved_model_half_plus_two_gpu_trt',
    'saved_model_half_plus_two_mlmd',
    'saved_model_half_plus_two_cpu_with_saved_model_config',
    'saved_model_half_plus_two_cpu_with_empty_saved_model_config',
  ];
  for (const name of tf1) {
    it(`${name}: serving_default y = 0.5x + 2, cut below ParseExample`, async () => {
      const { r } = await check(TFS(name), {}, { x: [[2, 3, 4], [3, 1]] }, [[3, 3.5, 4]]);
      const ops = new Set(r.modelJson.modelTopology.node.map((n) => (n as { op: string }).op));
      assert.ok(!ops.has('ParseExample') && !ops.has('ParseExampleV2'), 'parse ops must be cut away');
      assert.ok(!r.modelJson.modelTopology.node.some((n) => 'device' in (n as object)), 'device placements must be stripped');
    });
  }

  for (const v of ['00000123', '00000124']) {
    it(`saved_model_half_plus_two_2_versions/${v}: all six signatures`, async () => {
      await check(TFS('saved_model_half_plus_two_2_versions', v), {}, { x: [[2, 3, 4], [3, 1]] }, [[3, 3.5, 4]]);
      await check(TFS('saved_model_half_plus_two_2_versions', v), { signatureName: 'classify_x2_to_y3' }, { inputs: [[2], [1, 1]] }, [[4]]);
    });
  }

  it('half_plus_two_cpu: regress/classify signatures (tf.Example parsed in-graph) take features directly', async () => {
    const dir = TFS('saved_model_half_plus_two_cpu');
    // TF Serving golden pairs: x=2 → 3, x=80 → 42.
    await check(dir, { signatureName: 'regress_x_to_y' }, { x: [[2, 80], [2, 1]] }, [[3, 42]]);
    await check(dir, { signatureName: 'regress_x_to_y2' }, { x: [[2, 80], [2, 1]] }, [halfPlusTwo([2, 80], 3)]);
    await check(dir, { signatureName: 'classify_x_to_y' }, { x: [[2], [1, 1]] }, [[3]]);
    await check(dir, { signatureName: 'regress_x2_to_y3' }, { inputs: [[2, 4], [2, 1]] }, [[4, 5]]);
  });

  it('cut points get unknown rank (TF feed semantics); original Placeholders keep their shape', async () => {
    type N = { name: string; op: string; attr?: { shape?: { shape?: { dim?: { size: string }[]; unknownRank?: boolean } } } };
    const phShape = (r: Awaited<ReturnType<typeof convert>>, name: string) =>
      (r.modelJson.modelTopology.node as unknown as N[]).find((n) => n.name === name && n.op === 'Placeholder')?.attr?.shape?.shape;
    // half_plus_two's x:0 is an Identity of ParseExample: fed like TF Serving feeds it, any shape runs.
    const dir = TFS('saved_model_half_plus_two_cpu');
    const { r } = await check(dir, {}, { x: [[2, 3, 4], [3]] }, [[3, 3.5, 4]]);
    assert.deepEqual(phShape(r, 'x'), { unknownRank: true });
    assert.deepEqual(r.signatures[0]!.inputs.x!.shape, [-1, 1], 'the signature keeps the declared shape');
    assert.deepEqual((r.modelJson.signature as any).inputs.x.tensorShape, { dim: [{ size: '-1' }, { size: '1' }] });
    await check(dir, {}, { x: [[1, 2, 3, 4], [2, 2]] }, [[2.5, 3, 3.5, 4]]);
    const model = await load(r);
    assert.equal(model.inputs[0]!.shape, undefined, 'TF.js sees an unknown-shape input');
    model.dispose();
    // Parsed tf.Example features are cut points too.
    const reg = await convert(dir, { signatureName: 'regress_x_to_y' });
    assert.deepEqual(phShape(reg, 'x'), { unknownRank: true });
    assert.deepEqual(reg.signatures[0]!.inputs.x!.shape, [-1, 1]);
    // x2:0 (regress_x2_to_y3) is an Identity of ParseExample:1 as well.
    const x2 = await convert(dir, { signatureName: 'regress_x2_to_y3' });
    assert.deepEqual(phShape(x2, 'x2'), { unknownRank: true });
    // Real Placeholders: TF2 serving_default_x [1], its x2 signature's input, matrix_half_plus_two x [-1,3,3].
    const tf2 = await convert(TFS('saved_model_half_plus_two_tf2_cpu'));
    assert.deepEqual(phShape(tf2, 'serving_default_x'), { dim: [{ size: '1' }] });
    const tf2x2 = await convert(TFS('saved_model_half_plus_two_tf2_cpu'), { signatureName: 'regress_x2_to_y3' });
    const tf2In = tf2x2.signatures[0]!.inputs.inputs!.name.replace(/:0$/, '');
    assert.deepEqual(phShape(tf2x2, tf2In), { dim: [{ size: '1' }] });
    const matrix = await convert(fixture('tfserving', 'matrix_half_plus_two', '1'));
    assert.deepEqual(phShape(matrix, 'x'), { dim: [{ size: '-1' }, { size: '3' }, { size: '3' }] });
  });

  it('half_plus_three: y = 0.5x + 3 (no shapes in the signature; SD literally named tensorflow/serving/regress)', async () => {
    await check(TFS('saved_model_half_plus_three'), {}, { x: [[1, 2, 5], [3, 1]] }, [[3.5, 4, 5.5]]);
    await check(TFS('saved_model_half_plus_three'), { signatureName: 'tensorflow/serving/regress' }, { x: [[1, 2, 5], [3, 1]] }, [[3.5, 4, 5.5]]);
  });

  it('half_plus_two_mkl: VariableV2 + Keras VarHandleOp conv kernels; y = conv(zeros) + 0.5x + 2', async () => {
    await check(TFS('saved_model_half_plus_two_mkl'), {}, { x: [[2, 3], [2, 1]] }, [[3, 3.5]]);
    await check(TFS('saved_model_half_plus_two_mkl'), { signatureName: 'regress_x_to_y2' }, { x: [[2], [1, 1]] }, [new Array(100).fill(4)]);
  });

  it('saved_model_counter: get_counter (no inputs, a frozen VariableV2) returns 0', async () => {
    await check(TFS('saved_model_counter'), { signatureName: 'get_counter' }, {}, [[0]]);
  });
});

describe('TF2 fixtures (object graph, StatefulPartitionedCall, captured resources)', () => {
  it('half_plus_two_tf2_cpu: serving_default y = 0.5x + 2 with fixed shape [1]', async () => {
    await check(TFS('saved_model_half_plus_two_tf2_cpu'), {}, { x: [[3], [1]] }, [[3.5]]);
  });
  it('half_plus_two_tf2_cpu: Example-parsing signatures inside functions', async () => {
    const dir = TFS('saved_model_half_plus_two_tf2_cpu');
    await check(dir, { signatureName: 'regress_x_to_y' }, { x: [[2, 80], [2, 1]] }, [[3, 42]]);
    await check(dir, { signatureName: 'classify_x_to_y' }, { x: [[2], [1, 1]] }, [[3]]);
    await check(dir, { signatureName: 'regress_x_to_y2' }, { x: [[2], [1, 1]] }, [[4]]);
    await check(dir, { signatureName: 'regress_x2_to_y3' }, { inputs: [[2], [1]] }, [[4]]);
    await check(dir, { signatureName: 'classify_x2_to_y3' }, { inputs: [[4], [1]] }, [[5]]);
  });
  it('times_three_float: y = 3x (scalar input)', async () => {
    await check(TFJS('times_three_float'), {}, { x: [[3], []] }, [[9]]);
  });
  it('times_two_int: y = 2x int32', async () => {
    const { out } = await check(TFJS('times_two_int'), {}, { x: [[3], [], 'int32'] }, [[6]]);
    assert.equal(out[0]!.dtype, 'int32');
  });
  it('module_with_multiple_signatures: serving_default 3x and timestwo 2x', async () => {
    await check(TFJS('module_with_multiple_signatures'), {}, { x: [[3], []] }, [[9]]);
    await check(TFJS('module_with_multiple_signatures'), { signatureName: 'timestwo' }, { x: [[3], []] }, [[6]]);
  });
  it('model_single_input_multi_output: [2x, x]', async () => {
    await check(TFJS('model_single_input_multi_output'), {}, { x: [[3], [], 'int32'] }, [[6], [3]]);
  });
  it('model_multi_output: [2x, y] with two inputs', async () => {
    await check(TFJS('model_multi_output'), {}, { x: [[3], [], 'int32'], y: [[5], [], 'int32'] }, [[6], [5]]);
  });
  it('uint8_multiply: y = 6x (DT_UINT8 input fed as int32)', async () => {
    await check(TFJS('uint8_multiply'), {}, { x: [[3], [1], 'int32'] }, [[18]]);
  });
  it('int64_multiply (both variants): y = 6x with int64 variables written as int32 weights', async () => {
    for (const name of ['int64_multiply', 'int64_multiply_tfjs-node-gpu']) {
      const { r } = await check(TFJS(name), {}, { x: [[3, 4], [2], 'int32'] }, [[18, 24]]);
      assert.ok(r.weightSpecs.every((w) => w.dtype === 'int32'));
    }
  });
});

describe('real-world models', () => {
  it('mlcommons KWS DS-CNN (TF2 Keras): softmax over 12 keywords for a batch', async () => {
    const r = await convert(fixture('realworld', 'mlcommons__tiny', 'kws_ref_model'));
    const model = await load(r);
    const x = Array.from({ length: 2 * 49 * 10 }, (_, i) => Math.sin(i));
    const [y] = await run(model, { input_1: [x, [2, 49, 10, 1]] });
    model.dispose();
    assert.deepEqual(y!.shape, [2, 12]);
    assertClose([y!.values.slice(0, 12).reduce((a, b) => a + b), y!.values.slice(12).reduce((a, b) => a + b)], [1, 1], 1e-5);
  });
  it('tensorspace LeNet (TF1 with its whole training graph): pruned to the softmax', async () => {
    const r = await convert(fixture('realworld', 'tensorspace-team__tensorspace', 'tensorflow_model'));
    const ops = r.modelJson.modelTopology.node.map((n) => (n as { op: string }).op);
    assert.ok(!ops.some((o) => /Apply|Grad|OneHot|CrossEntropy|Variable/.test(o)), `training ops left: ${ops.join(',')}`);
    const model = await load(r);
    const x = Array.from({ length: 3 * 32 * 32 }, (_, i) => (i % 17) / 17);
    const [y] = await run(model, { input: [x, [3, 32, 32, 1]] });
    model.dispose();
    assert.deepEqual(y!.shape, [3, 10]);
    for (let b = 0; b < 3; b++) assertClose([y!.values.slice(b * 10, b * 10 + 10).reduce((a, c) => a + c)], [1], 1e-5);
  });
});
