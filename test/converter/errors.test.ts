/** Negative fixtures and error reporting: every failure is a ConverterError with a status code and a clear message. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConverterError, type ConverterErrorCode } from '../../converter/index.js';
import { convert, cpuBackend, fixture, TFS } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'converter-errors-'));
after(() => rmSync(work, { recursive: true, force: true }));
before(cpuBackend);

async function rejects(p: Promise<unknown>, code: ConverterErrorCode, message: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ConverterError, `expected a ConverterError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

describe('converter errors', () => {
  it('bad_half_plus_two (legacy SessionBundle, no saved_model.pb) → NOT_FOUND naming what is there', async () => {
    await rejects(convert(TFS('bad_half_plus_two')), 'NOT_FOUND', /no saved_model\.pb in .*bad_half_plus_two.*SessionBundle.*export\.meta/);
  });
  it('tf_text_regression (incomplete copy without saved_model.pb) → NOT_FOUND', async () => {
    await rejects(convert(fixture('tfserving', 'tf_text_regression', '01')), 'NOT_FOUND', /no saved_model\.pb.*fingerprint\.pb/);
  });
  it('a directory that does not exist → NOT_FOUND', async () => {
    await rejects(convert(join(work, 'nope')), 'NOT_FOUND', /does not exist/);
  });
  it('the stateful counter: incr_counter / reset_counter need mutable state → FAILED_PRECONDITION', async () => {
    await rejects(convert(TFS('saved_model_counter'), { signatureName: 'incr_counter' }), 'FAILED_PRECONDITION', /mutable state.*AssignAdd/);
    await rejects(convert(TFS('saved_model_counter'), { signatureName: 'reset_counter' }), 'FAILED_PRECONDITION', /"reset_counter_op\/Assign" \(Assign\)/);
  });
  it('--signature_name all skips the stateful counter signatures and keeps get_counter', async () => {
    const r = await convert(TFS('saved_model_counter'), { signatureName: 'all' });
    assert.deepEqual(r.signatures.map((s) => s.name), ['get_counter']);
    assert.deepEqual(Object.keys(r.skippedSignatures).sort(), ['incr_counter', 'incr_counter_by', 'reset_counter']);
    assert.ok((r.modelJson.userDefinedMetadata?.skippedSignatures as Record<string, string>).incr_counter);
  });
  it('an unsupported op is reported by name (UNIMPLEMENTED, details.unsupportedOps)', async () => {
    const dir = join(work, 'unsupported', '1');
    cpSync(fixture('tfserving', 'matrix_half_plus_two', '1'), dir, { recursive: true });
    const pb = readFileSync(join(dir, 'saved_model.pb'));
    const at = pb.indexOf(Buffer.from('\x12\x03Mul', 'latin1'));
    pb.write('Svd', at + 2, 'latin1'); // NodeDef.op "Mul" → "Svd" (a real TF op TF.js lacks)
    writeFileSync(join(dir, 'saved_model.pb'), pb);
    await assert.rejects(convert(dir), (e: unknown) => {
      assert.ok(e instanceof ConverterError && e.code === 'UNIMPLEMENTED');
      assert.match(e.message, /ops TF\.js does not support: Svd \(e\.g\. node "Mul"\)/);
      assert.deepEqual(e.details?.unsupportedOps, ['Svd']);
      return true;
    });
    // --skip_op_check converts anyway.
    const r = await convert(dir, { skipOpCheck: true });
    assert.ok(r.modelJson.modelTopology.node.some((n) => (n as { op: string }).op === 'Svd'));
  });
  it('a corrupted variable (bad crc32c in the data shard) → DATA_LOSS', async () => {
    const dir = join(work, 'badcrc');
    cpSync(TFS('saved_model_half_plus_two_cpu'), dir, { recursive: true });
    const data = join(dir, 'variables', 'variables.data-00000-of-00001');
    const b = readFileSync(data);
    b[0] = b[0]! ^ 0x01;
    writeFileSync(data, b);
    await rejects(convert(dir), 'DATA_LOSS', /checksum mismatch for checkpoint key "a"/);
  });
  it('a corrupted saved_model.pb → DATA_LOSS', async () => {
    const dir = join(work, 'badpb');
    cpSync(fixture('tfserving', 'matrix_half_plus_two', '1'), dir, { recursive: true });
    const pb = readFileSync(join(dir, 'saved_model.pb'));
    writeFileSync(join(dir, 'saved_model.pb'), pb.subarray(0, pb.length - 100));
    await rejects(convert(dir), 'DATA_LOSS', /not a valid SavedModel protobuf/);
  });
  it('a missing signature or tag-set → NOT_FOUND listing what exists', async () => {
    await rejects(convert(TFS('saved_model_half_plus_two_cpu'), { signatureName: 'nope' }), 'NOT_FOUND', /no signature "nope".*available signatures: serving_default, classify_x_to_y/);
    await rejects(convert(TFS('saved_model_half_plus_two_cpu'), { tags: ['gpu'] }), 'NOT_FOUND', /no MetaGraphDef with tag-set \[gpu\]; available tag-sets: \[serve\]/);
  });
  it('conflicting quantization flags → INVALID_ARGUMENT', async () => {
    await rejects(convert(TFS('saved_model_half_plus_two_cpu'), { quantization: { float16: true, uint8: true } }), 'INVALID_ARGUMENT', /only one quantization dtype/);
  });
});
