/**
 * TF1 ("v1") dataflow control flow: a `tf.while_loop` (Enter / Merge / LoopCond / Switch / Identity /
 * NextIteration / Exit, with a NextIteration → Merge cycle) and a `tf.cond` (Switch / Merge), written as
 * TF 1.15 writes them by bench/fixtures/while-loop-savedmodel.ts, converted, loaded with the stock
 * `tf.loadGraphModel` and run with `executeAsync` against a JS computation, optimized and not.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { condConstForward, whileLoopForward, writeCondConstSavedModel, writeWhileLoopSavedModel, type WhileLoopSavedModel } from '../../bench/fixtures/while-loop-savedmodel.js';
import { ConverterError } from '../../converter/index.js';
import { topoSort } from '../../converter/graph/graph.js';
import { assertClose, convert, cpuBackend, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-tf1-cf-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

type TopologyNode = { name: string; op: string; input?: string[] };
let m: WhileLoopSavedModel;
before(() => {
  m = writeWhileLoopSavedModel(join(work, 'while'), 1.5, -0.25);
});

const CASES: [number[], number][] = [
  [[1, 2, -3], 0],
  [[0.5], 1],
  [[1, -1, 4, 0.25], 3],
  [[2, 3], 5],
];

for (const optimize of [true, false]) {
  describe(`TF1 while_loop + cond SavedModel (optimize: ${optimize})`, () => {
    it('keeps the v1 control flow, freezes the variables entered into the loop, and runs with executeAsync', async () => {
      const r = await convert(m.dir, { optimize });
      const nodes = r.modelJson.modelTopology.node as unknown as TopologyNode[];
      const byName = new Map(nodes.map((n) => [n.name, n]));
      const ops = new Set(nodes.map((n) => n.op));
      for (const op of ['Enter', 'Merge', 'LoopCond', 'Switch', 'NextIteration', 'Exit']) assert.ok(ops.has(op), `${op} kept`);
      for (const gone of ['VariableV2', 'Assign', 'NoOp']) assert.ok(!ops.has(gone), `${gone} removed`);
      // Control inputs are dropped except on the gates of branch / loop-body constants (after the data input).
      const gated = nodes.filter((n) => (n.input ?? []).some((i) => i.startsWith('^')));
      assert.deepEqual(gated.map((n) => n.name).sort(), ['cond/add/y', 'cond/mul/y', 'while/add/y']);
      for (const n of gated) assert.equal(n.op, 'Identity');
      assert.deepEqual(byName.get('cond/mul/y')!.input, ['cond/mul/y/gated_value', '^cond/switch_t']);
      assert.deepEqual(byName.get('cond/add/y')!.input, ['cond/add/y/gated_value', '^cond/switch_f']);
      assert.deepEqual(byName.get('while/add/y')!.input, ['while/add/y/gated_value', '^while/Identity']);
      assert.equal(byName.get('cond/mul/y/gated_value')?.op, 'Const');
      // The whole loop is kept: both back edges and the counter's body.
      assert.deepEqual(byName.get('while/Merge')!.input, ['while/Enter', 'while/NextIteration']);
      assert.deepEqual(byName.get('while/Merge_1')!.input, ['while/Enter_1', 'while/NextIteration_1']);
      assert.ok(byName.has('while/add') && byName.has('while/Less/Enter'));
      // The Switch true-branch Identities stay; the loop-invariant Enters take the frozen variables.
      assert.equal(byName.get('while/Identity_1')?.op, 'Identity');
      assert.deepEqual(byName.get('while/Identity_1')!.input, ['while/Switch_1:1']);
      for (const [enter, v] of [['while/mul/Enter', 'w'], ['while/add_1/Enter', 'b']] as const) {
        const src = byName.get(byName.get(enter)!.input![0]!)!;
        if (optimize) assert.equal(src.op, 'Const', `${enter} takes a Const`);
        else assert.equal(src.name, `${v}/read`);
        assert.equal(byName.get(v)?.op, 'Const');
      }
      assert.equal(r.weightSpecs.length >= 2, true);

      const sig = r.signatures[0]!;
      assert.deepEqual(Object.keys(sig.inputs).sort(), ['n', 'x']);
      const outNames = [sig.outputs.y!.name, sig.outputs.z!.name];
      const start = numTensors();
      const model = await load(r);
      try {
        for (const [xs, n] of CASES) {
          const feeds = { [sig.inputs.x!.name]: tf.tensor1d(xs, 'float32'), [sig.inputs.n!.name]: tf.scalar(n, 'int32') };
          const out = (await model.executeAsync(feeds, outNames)) as tf.Tensor[];
          const [y, z] = out.map((t) => Array.from(t.dataSync()));
          tf.dispose([...out, ...Object.values(feeds)]);
          const expected = whileLoopForward(m, xs, n);
          assertClose(y!, expected.y, 1e-6, `y for n=${n}`);
          assertClose(z!, expected.z, 1e-6, `z for n=${n}`);
        }
      } finally {
        model.dispose();
      }
      assert.equal(numTensors(), start, 'tensors leaked');
    });
  });
}

for (const optimize of [true, false]) {
  describe(`TF1 cond whose branches return constants (optimize: ${optimize})`, () => {
    it('keeps the branch constants gated on switch_t / switch_f so Merge picks the live branch', async () => {
      const dir = join(work, 'cond-const');
      writeCondConstSavedModel(dir);
      const r = await convert(dir, { optimize });
      const nodes = r.modelJson.modelTopology.node as unknown as TopologyNode[];
      const byName = new Map(nodes.map((n) => [n.name, n]));
      // Branch constants: Const value + Identity gate with the pivot as a control input (after the data input).
      assert.deepEqual(byName.get('cond/Const')!.input, ['cond/Const/gated_value', '^cond/switch_t']);
      assert.deepEqual(byName.get('cond/mul/y')!.input, ['cond/mul/y/gated_value', '^cond/switch_t']);
      assert.deepEqual(byName.get('cond/Const_1')!.input, ['cond/Const_1/gated_value', '^cond/switch_f']);
      for (const g of ['cond/Const', 'cond/mul/y', 'cond/Const_1']) {
        assert.equal(byName.get(g)!.op, 'Identity');
        assert.equal(byName.get(`${g}/gated_value`)!.op, 'Const');
        assert.deepEqual(byName.get(`${g}/gated_value`)!.input ?? [], []);
      }
      // Not folded across the gate: the true branch's Mul still reads the gates.
      assert.deepEqual(byName.get('cond/mul')!.input, ['cond/Const', 'cond/mul/y']);
      assert.ok(byName.has('cond/switch_t') && byName.has('cond/switch_f'), 'pivots kept');

      const sig = r.signatures[0]!;
      const start = numTensors();
      const model = await load(r);
      try {
        for (const n of [-1, 0, 2, 3, 7]) {
          const feeds = { [sig.inputs.n!.name]: tf.scalar(n, 'int32') };
          const out = (await model.executeAsync(feeds, [sig.outputs.z!.name])) as tf.Tensor;
          const z = out.dataSync()[0];
          tf.dispose([out, ...Object.values(feeds)]);
          assert.equal(z, condConstForward(n), `z for n=${n}`);
        }
      } finally {
        model.dispose();
      }
      assert.equal(numTensors(), start, 'tensors leaked');
    });
  });
}

describe('topological order with TF1 loops', () => {
  it('ignores NextIteration → Merge back edges but still rejects other cycles', () => {
    const n = (name: string, op: string, input: string[]) => ({ name, op, input, attr: {} });
    const loop = [n('m', 'Merge', ['e', 'ni']), n('e', 'Enter', ['c']), n('c', 'Const', []), n('s', 'Switch', ['m', 'm']), n('ni', 'NextIteration', ['s:1'])];
    const order = topoSort(loop).map((x) => x.name);
    assert.ok(order.indexOf('e') < order.indexOf('m') && order.indexOf('m') < order.indexOf('s') && order.indexOf('s') < order.indexOf('ni'));
    assert.throws(() => topoSort([n('a', 'Add', ['b']), n('b', 'Add', ['a'])]), (e: unknown) => e instanceof ConverterError && e.code === 'INVALID_ARGUMENT');
  });
});
