/**
 * `--signature_name all` on a SavedModel (written by bench/fixtures/saved-model-writer.ts) whose
 * signatures fail in different ways: every signature that can be converted is, each one that cannot is
 * listed with its reason, the conversion fails only when none converts (or with all-or-nothing); and
 * `--quiet` prints nothing on success.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { writeSavedModel, type AttrMsg, type NodeMsg, type SignatureMsg } from '../../bench/fixtures/saved-model-writer.js';
import { isConverterError, runConverterCli } from '../../converter/index.js';
import { DT } from '../../converter/tensor.js';
import { convert, cpuBackend, load, numTensors } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-sig-all-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

const F = DT.FLOAT;
const T: Record<string, AttrMsg> = { T: { type: F } };
const node = (name: string, op: string, input: string[], attr: Record<string, AttrMsg>): NodeMsg => ({ name, op, input, attr });
const info = (name: string) => ({ name, dtype: F, shape: { dim: [-1] } });
const sig = (input: string, output: string): SignatureMsg => ({ inputs: { x: info(input) }, outputs: { y: info(output) }, methodName: 'tensorflow/serving/predict' });

/**
 * x → y = 2x (serving_default); y → z = y + 1 (plus_one: fine alone, but its input cuts y, which
 * serving_default returns); x → Igamma(x, x) (gamma: an op TF.js lacks); x → "nope:0" (missing).
 */
function writeModel(dir: string, signatures: string[]): string {
  const all: Record<string, SignatureMsg> = {
    serving_default: sig('x:0', 'y:0'),
    plus_one: sig('y:0', 'z:0'),
    gamma: sig('x:0', 'g:0'),
    missing: sig('x:0', 'nope:0'),
  };
  writeSavedModel(dir, [{
    tags: ['serve'],
    tensorflowVersion: '1.15.5',
    producer: 134,
    nodes: [
      node('x', 'Placeholder', [], { dtype: { type: F }, shape: { shape: { dim: [-1] } } }),
      node('two', 'Const', [], { dtype: { type: F }, value: { tensor: { dtype: F, shape: [], floatVal: [2] } } }),
      node('y', 'Mul', ['x', 'two'], T),
      node('one', 'Const', [], { dtype: { type: F }, value: { tensor: { dtype: F, shape: [], floatVal: [1] } } }),
      node('z', 'AddV2', ['y', 'one'], T),
      node('g', 'Igamma', ['x', 'x'], T),
    ],
    signatures: Object.fromEntries(signatures.map((s) => [s, all[s]!])),
  }]);
  return dir;
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) }, out: () => out.join(''), err: () => err.join('') };
}

describe('--signature_name all with signatures that cannot be converted', () => {
  const mixed = writeModel(join(work, 'mixed'), ['serving_default', 'plus_one', 'gamma', 'missing']);

  it('converts what it can and lists every other signature with its reason', async () => {
    const r = await convert(mixed, { signatureName: 'all' });
    assert.deepEqual(r.signatures.map((s) => s.name), ['serving_default']);
    assert.deepEqual(Object.keys(r.skippedSignatures).sort(), ['gamma', 'missing', 'plus_one']);
    assert.match(r.skippedSignatures.gamma!, /^UNIMPLEMENTED: .*Igamma/);
    assert.match(r.skippedSignatures.missing!, /^NOT_FOUND: .*"nope:0"/);
    assert.match(r.skippedSignatures.plus_one!, /cannot be converted together with "serving_default"/);
    assert.deepEqual(r.modelJson.userDefinedMetadata!.skippedSignatures, r.skippedSignatures);
    const start = numTensors();
    const model = await load(r);
    const x = tf.tensor1d([1, -3]);
    const y = model.execute({ 'x:0': x }, r.signatures[0]!.outputs.y!.name) as tf.Tensor;
    assert.deepEqual(Array.from(y.dataSync()), [2, -6]);
    tf.dispose([x, y]);
    model.dispose();
    assert.equal(numTensors(), start);
  });

  it('a signature skipped only for another one converts by itself', async () => {
    const r = await convert(mixed, { signatureName: 'plus_one' });
    assert.deepEqual(Object.keys(r.signatures[0]!.outputs), ['y']);
  });

  it('fails only when none converts, naming each signature and reason', async () => {
    const none = writeModel(join(work, 'none'), ['gamma', 'missing']);
    await assert.rejects(convert(none, { signatureName: 'all' }), (e: unknown) => {
      assert.ok(isConverterError(e));
      assert.match(e.message, /none of the 2 serving signature\(s\)/);
      assert.match(e.message, /"gamma": UNIMPLEMENTED: .*Igamma/);
      assert.match(e.message, /"missing": NOT_FOUND/);
      assert.deepEqual(Object.keys(e.details!.skippedSignatures as object).sort(), ['gamma', 'missing']);
      return true;
    });
  });

  it('all-or-nothing fails when any signature cannot be converted', async () => {
    await assert.rejects(convert(mixed, { signatureName: 'all', allOrNothing: true }), /3 of the 4 serving signature\(s\).*all-or-nothing/s);
    const ok = writeModel(join(work, 'ok'), ['serving_default']);
    const r = await convert(ok, { signatureName: 'all', allOrNothing: true });
    assert.deepEqual(r.signatures.map((s) => s.name), ['serving_default']);
  });

  it('CLI: exit 0 with a warning per skipped signature; exit 1 with --all_or_nothing or when none converts', async () => {
    let c = capture();
    assert.equal(await runConverterCli('convert', [mixed, join(work, 'out-mixed'), '--signature_name', 'all', '--quiet'], c.io), 0, c.err());
    assert.ok(existsSync(join(work, 'out-mixed', 'model.json')));
    assert.equal(c.out(), '');
    for (const s of ['gamma', 'missing', 'plus_one']) assert.match(c.err(), new RegExp(`warning: skipped signature "${s}": `));
    c = capture();
    assert.equal(await runConverterCli('convert', [mixed, join(work, 'out-strict'), '--signature_name', 'all', '--all_or_nothing'], c.io), 1);
    assert.match(c.err(), /^error: .*all-or-nothing/m);
    assert.ok(!existsSync(join(work, 'out-strict', 'model.json')));
    c = capture();
    assert.equal(await runConverterCli('convert', [writeModel(join(work, 'none2'), ['gamma']), join(work, 'out-none'), '--signature_name', 'all'], c.io), 1);
    assert.match(c.err(), /none of the 1 serving signature\(s\)[\s\S]*"gamma"/);
  });

  it('--quiet prints nothing at all on success; without it, progress and a summary', async () => {
    const ok = writeModel(join(work, 'quiet'), ['serving_default']);
    let c = capture();
    assert.equal(await runConverterCli('convert', [ok, join(work, 'out-quiet'), '--quiet'], c.io), 0);
    assert.equal(c.out() + c.err(), '');
    assert.ok(existsSync(join(work, 'out-quiet', 'model.json')));
    c = capture();
    assert.equal(await runConverterCli('convert', [ok, join(work, 'out-loud')], c.io), 0);
    assert.match(c.out(), /^Converted /);
    assert.match(c.err(), /\[convert 100%\]/);
  });
});
