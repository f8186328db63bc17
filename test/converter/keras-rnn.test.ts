/**
 * Keras LSTM exports (TF ≥ 2.4): a SavedModel written by bench/fixtures/saved-model-writer.ts with the
 * layout Keras gives an LSTM layer (an unreachable gradient function with an unknown multi-output op,
 * an `api_implements` CudnnRNN / standard-body pair, StatelessWhile + TensorList ops) is converted,
 * loaded with the stock loader and run against a plain-JS LSTM forward pass of the same weights.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { BACKWARD_LSTM, GPU_LSTM, lstmForward, STANDARD_LSTM, writeLstmSavedModel } from '../../bench/fixtures/keras-lstm-savedmodel.js';
import { prng } from '../../bench/fixtures/mlp-savedmodel.js';
import { isConverterError } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-rnn-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

type Lib = { function?: { signature: { name: string }; nodeDef?: { op: string }[] }[] };

describe('Keras LSTM layout (api_implements alternatives, gradient functions, TensorList loops)', () => {
  for (const callGpu of [true, false]) {
    it(`converts and matches a plain-JS LSTM (call site names the ${callGpu ? 'CudnnRNN' : 'standard'} body)`, async () => {
      const m = writeLstmSavedModel(join(work, `lstm-${callGpu}`), { callGpu, timesteps: 6, features: 3, units: 4 });
      const r = await convert(m.dir);
      const lib = r.modelJson.modelTopology.library as Lib;
      const fnames = (lib.function ?? []).map((f) => f.signature.name).sort();
      assert.deepEqual(fnames, ['while_body_702', 'while_cond_701'], 'only the loop of the standard body is kept');
      const text = JSON.stringify(r.modelJson);
      assert.ok(!/Cudnn/.test(text), 'no CudnnRNN op or function left');
      for (const op of ['TensorListGetItem', 'TensorListSetItem']) assert.ok((lib.function ?? []).some((f) => f.nodeDef?.some((n) => n.op === op)), `${op} in the loop body`);
      for (const op of ['StatelessWhile', 'TensorListFromTensor', 'TensorListReserve', 'TensorListStack']) assert.ok(r.stats.ops[op], `${op} kept`);

      const model = await load(r);
      const batch = 3;
      const rand = prng(11);
      const x = Float32Array.from({ length: batch * m.timesteps * m.features }, () => rand() * 2 - 1);
      const before = numTensors();
      const input = tf.tensor3d(x, [batch, m.timesteps, m.features]);
      const sig = r.signatures[0]!;
      const outs = (await model.executeAsync({ [sig.inputs.input_1!.name]: input }, [sig.outputs.lstm!.name, sig.outputs.lstm_1!.name])) as tf.Tensor[];
      const expected = lstmForward(m, x, batch);
      assert.deepEqual(outs[0]!.shape, [batch, m.units]);
      assert.deepEqual(outs[1]!.shape, [batch, m.timesteps, m.units]);
      assertClose(outs[0]!.dataSync(), expected.last, 1e-5, 'last h');
      assertClose(outs[1]!.dataSync(), expected.seq, 1e-5, 'sequence');
      tf.dispose([...outs, input]);
      assert.equal(numTensors(), before, 'no tensor leaks');
      model.dispose();
    });
  }

  it('fails with UNIMPLEMENTED naming the op and function when no alternative can run in TF.js', async () => {
    const m = writeLstmSavedModel(join(work, 'lstm-gpu-only'), { withCpuAlternative: false });
    await assert.rejects(convert(m.dir), (e: unknown) => {
      assert.ok(isConverterError(e));
      assert.equal(e.code, 'UNIMPLEMENTED');
      assert.match(e.message, new RegExp(`"${GPU_LSTM}"`));
      assert.match(e.message, /CudnnRNNV3/);
      assert.ok(!e.message.includes(BACKWARD_LSTM), 'the gradient function is not what the error is about');
      return true;
    });
  });

  it('never touches the gradient function, and chooses the CPU body by api_implements', async () => {
    const m = writeLstmSavedModel(join(work, 'lstm-names'));
    const r = await convert(m.dir, { optimize: false });
    const text = JSON.stringify(r.modelJson.modelTopology);
    assert.ok(!text.includes(BACKWARD_LSTM) && !text.includes(GPU_LSTM));
    // The inlined standard body's nodes keep TF's names under the call site.
    assert.ok(text.includes('lstm/PartitionedCall/while'), 'the loop node is named after the call site');
    assert.ok(!text.includes('StatefulPartitionedCall/StatefulPartitionedCall/'), 'no doubled call prefix');
    const names = (r.modelJson.modelTopology.node as { name: string }[]).map((n) => n.name);
    assert.ok(names.includes('StatefulPartitionedCall/lstm/PartitionedCall/TensorArrayV2'), `${STANDARD_LSTM}'s nodes are inlined`);
  });
});
