/**
 * `show --all` ends each MetaGraph with saved_model_cli's op-list line. Like TensorFlow's
 * `meta_graph.ops_used_by_graph_def`, it counts the graph's ops and those of functions called by op
 * name or through `(Stateful)PartitionedCall` — not while/cond bodies, not functions nothing calls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { writeLstmSavedModel } from '../../bench/fixtures/keras-lstm-savedmodel.js';
import { runConverterCli } from '../../converter/index.js';
import { TFS } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-show-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function show(dir: string): Promise<string> {
  const out: string[] = [];
  const code = await runConverterCli('show', ['--dir', dir, '--all'], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) });
  assert.equal(code, 0, out.join(''));
  return out.join('');
}

describe('show --all: the op-list line', () => {
  it('lists the ops of the graph and of the functions it calls, sorted, as saved_model_cli does', async () => {
    const m = writeLstmSavedModel(join(work, 'lstm'), { callGpu: false });
    const text = await show(m.dir);
    const expected = [
      'Const', 'Fill', 'Identity', 'Pack', 'PartitionedCall', 'Placeholder', 'ReadVariableOp', 'Shape', 'StatefulPartitionedCall',
      'StatelessWhile', 'StridedSlice', 'TensorListFromTensor', 'TensorListReserve', 'TensorListStack', 'Transpose', 'VarHandleOp',
    ];
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.at(-1), `The MetaGraph with tag set ['serve'] contains the following ops: {${expected.map((o) => `'${o}'`).join(', ')}}`);
  });

  it('follows the call graph: the called CudnnRNN body is listed, the uncalled gradient function is not', async () => {
    const m = writeLstmSavedModel(join(work, 'lstm-gpu'), { callGpu: true });
    const line = (await show(m.dir)).trimEnd().split('\n').at(-1)!;
    assert.match(line, /'CudnnRNNV3'/);
    assert.doesNotMatch(line, /CudnnRNNBackprop|StatelessWhile|__inference/);
  });

  it('TF1 graph: one line per MetaGraph after its signatures', async () => {
    const text = await show(TFS('saved_model_half_plus_two_cpu'));
    assert.match(text, /signature_def\['serving_default'\][\s\S]*\nThe MetaGraph with tag set \['serve'\] contains the following ops: \{[^}]*'ParseExample'[^}]*'VariableV2'\}\n/);
  });
});
