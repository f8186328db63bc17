/**
 * `--signature_name all` (every serving signature in one model.json, parse
 * specs for tf.Example signatures) and the `convert` / `show` / `run` CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { GraphCutter } from '../../converter/graph/cut.js';
import { readSavedModel, runConverterCli, type ParseSpec } from '../../converter/index.js';
import { assertClose, convert, cpuBackend, fixture, load, numTensors, TFJS, TFS } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

interface SigMeta {
  methodName?: string;
  inputs: Record<string, { name: string; dtype: string }>;
  outputs: Record<string, { name: string }>;
  parseSpec?: ParseSpec;
}

/** Runs signature `name` of a converted model by tensor names, as a serving runtime would. */
async function runSignature(model: tf.GraphModel, sig: SigMeta, feeds: Record<string, [number[], number[]]>): Promise<number[][]> {
  const inputs: tf.NamedTensorMap = {};
  for (const [k, [v, shape]] of Object.entries(feeds)) inputs[sig.inputs[k]!.name] = tf.tensor(v, shape);
  const outs = model.execute(inputs, Object.keys(sig.outputs).map((k) => sig.outputs[k]!.name));
  const arr = Array.isArray(outs) ? outs : [outs];
  const res = arr.map((t) => Array.from(t.dataSync()));
  tf.dispose([...arr, ...Object.values(inputs)]);
  return res;
}

describe('--signature_name all', () => {
  for (const [label, dir] of [
    ['TF1 half_plus_two_cpu', TFS('saved_model_half_plus_two_cpu')],
    ['TF1 half_plus_two_2_versions (6 signatures)', TFS('saved_model_half_plus_two_2_versions')],
    ['TF2 half_plus_two_tf2_cpu', TFS('saved_model_half_plus_two_tf2_cpu')],
  ] as const) {
    it(`${label}: every signature runs by name from one model.json`, async () => {
      const r = await convert(dir, { signatureName: 'all' });
      const md = r.modelJson.userDefinedMetadata!;
      assert.equal(md.defaultSignature, 'serving_default');
      const sigs = md.signatures as unknown as Record<string, SigMeta>;
      assert.ok(Object.keys(sigs).includes('regress_x_to_y'));
      assert.deepEqual(r.skippedSignatures, {});
      const start = numTensors();
      const model = await load(r);
      const expected: Record<string, (x: number) => number> = {
        serving_default: (x) => 0.5 * x + 2,
        regress_x_to_y: (x) => 0.5 * x + 2,
        classify_x_to_y: (x) => 0.5 * x + 2,
        regress_x_to_y2: (x) => 0.5 * x + 3,
        regress_x2_to_y3: (x) => 0.5 * x + 3,
        classify_x2_to_y3: (x) => 0.5 * x + 3,
      };
      for (const [name, sig] of Object.entries(sigs)) {
        const key = Object.keys(sig.inputs)[0]!;
        const fixedShape = label.startsWith('TF2') && !sig.parseSpec;
        const x = fixedShape ? [4] : [4, 80];
        const [y] = await runSignature(model, sig, { [key]: [x, fixedShape ? [1] : [x.length, 1]] });
        const expectSize = name === 'regress_x_to_y2' && dir.includes('mkl') ? 100 : x.length;
        assert.equal(y!.length, expectSize);
        assertClose(y!, x.map(expected[name]!), 1e-6, name);
      }
      model.dispose();
      assert.equal(numTensors(), start);
    });
  }

  it('records the tf.Example parse spec (keys, dtypes, shapes, defaults) of classify/regress signatures', async () => {
    const r = await convert(TFS('saved_model_half_plus_two_cpu'), { signatureName: 'all' });
    const sigs = r.modelJson.userDefinedMetadata!.signatures as unknown as Record<string, SigMeta>;
    const spec = sigs.regress_x_to_y!.parseSpec!;
    assert.equal(spec.serializedInputKey, 'inputs');
    assert.deepEqual(spec.features, [{ key: 'x', dtype: 'float32', shape: [1], defaultValue: null, placeholder: 'x' }]);
    assert.equal(sigs.regress_x_to_y!.methodName, 'tensorflow/serving/regress');
    assert.equal(sigs.classify_x_to_y!.methodName, 'tensorflow/serving/classify');
    assert.equal(sigs.serving_default!.parseSpec, undefined);
    // Only the features a signature uses are listed; the parse itself also has x2 with a default of 0,
    // computed by a Reshape of a constant and folded at conversion time.
    const dir = TFS('saved_model_half_plus_two_cpu_with_saved_model_config');
    const r2 = await convert(dir, { signatureName: 'regress_x_to_y' });
    assert.deepEqual(r2.signatures[0]!.parseSpec!.features.map((f) => f.key), ['x']);
    const meta = readSavedModel(dir).savedModel.metaGraphs[0]!;
    const cutter = new GraphCutter(meta.graphDef!.node.map((n) => ({ ...n, input: n.input.slice() })));
    const cut = cutter.cutSignature([{ key: 'inputs', info: meta.signatureDef.regress_x_to_y!.inputs.inputs!, ref: { node: 'tf_example', index: 0 } }], 'test');
    assert.deepEqual(cut.parseSpec!.features.map((f) => [f.key, f.kind === 'sparse' ? 'sparse' : f.defaultValue]), [['x', null], ['x2', [0]]]);
    // The default signature and the parsed signature share the feature placeholder x.
    assert.equal(sigs.serving_default!.inputs.x!.name, 'x:0');
    assert.equal(sigs.regress_x_to_y!.inputs.x!.name, 'x:0');
  });

  it('module_with_multiple_signatures: serving_default and timestwo', async () => {
    const r = await convert(TFJS('module_with_multiple_signatures'), { signatureName: 'all' });
    const sigs = r.modelJson.userDefinedMetadata!.signatures as unknown as Record<string, SigMeta>;
    const model = await load(r);
    assert.deepEqual(await runSignature(model, sigs.timestwo!, { x: [[5], []] }), [[10]]);
    assert.deepEqual(await runSignature(model, sigs.serving_default!, { x: [[5], []] }), [[15]]);
    model.dispose();
  });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) }, out: () => out.join(''), err: () => err.join('') };
}

describe('CLI', () => {
  it('show lists tag-sets, signatures, and one signature like saved_model_cli', async () => {
    const dir = TFS('saved_model_half_plus_two_cpu');
    let c = capture();
    assert.equal(await runConverterCli('show', ['--dir', dir], c.io), 0);
    assert.match(c.out(), /contains the following tag-sets:\n'serve'/);
    c = capture();
    assert.equal(await runConverterCli('show', ['--dir', dir, '--tag_set', 'serve'], c.io), 0);
    assert.match(c.out(), /SignatureDef key: "classify_x_to_y"[\s\S]*SignatureDef key: "serving_default"/);
    c = capture();
    assert.equal(await runConverterCli('show', ['--dir', dir, '--tag_set', 'serve', '--signature_def', 'serving_default'], c.io), 0);
    assert.match(c.out(), /inputs\['x'\] tensor_info:\n\s+dtype: DT_FLOAT\n\s+shape: \(-1, 1\)\n\s+name: x:0/);
    assert.match(c.out(), /Method name is: tensorflow\/serving\/predict/);
    c = capture();
    assert.equal(await runConverterCli('show', ['--dir', TFS('saved_model_counter'), '--all'], c.io), 0);
    assert.match(c.out(), /signature_def\['incr_counter_by'\][\s\S]*dtype: DT_FLOAT_REF/);
  });

  it('run executes a signature from --input_exprs and from --input_examples', async () => {
    let c = capture();
    assert.equal(await runConverterCli('run', ['--dir', TFS('saved_model_half_plus_two_cpu'), '--signature_def', 'serving_default', '--input_exprs', 'x=[[1],[2]]'], c.io), 0, c.err());
    assert.match(c.out(), /Result for output key y:\n\[\[2\.5\],\[3\]\]/);
    c = capture();
    assert.equal(await runConverterCli('run', ['--dir', TFS('saved_model_half_plus_two_cpu'), '--signature_def', 'regress_x_to_y', '--input_examples', 'inputs=[{"x":[2.0]},{"x":80}]'], c.io), 0, c.err());
    assert.match(c.out(), /Result for output key outputs:\n\[\[3\],\[42\]\]/);
  });

  it('convert writes model.json + shards, prints progress to stderr; errors exit 1 with the code', async () => {
    const out = join(work, 'kws');
    const c = capture();
    const code = await runConverterCli('convert', [fixture('realworld', 'mlcommons__tiny', 'kws_ref_model'), out, '--quantize_float16', '--weight_shard_size_bytes', '20000'], c.io);
    assert.equal(code, 0, c.err());
    assert.match(c.err(), /\[convert 100%\]/);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.equal(json.weightsManifest[0].paths.length, 3);
    assert.ok(json.weightsManifest[0].weights.some((w: { quantization?: { dtype: string } }) => w.quantization?.dtype === 'float16'));
    const bad = capture();
    assert.equal(await runConverterCli('convert', [TFS('bad_half_plus_two'), join(work, 'bad')], bad.io), 1);
    assert.match(bad.err(), /^error: NOT_FOUND: no saved_model\.pb/);
    const usage = capture();
    assert.equal(await runConverterCli('convert', [], usage.io), 2);
    assert.match(usage.err(), /usage: convert/);
  });
});
