// The publish command, run as users run it: the built CLI (bin/tfjs-serving.js) in a child process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DENSE_MODEL_DIR, humanModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { parseManifest } from '../../src/repository/manifest.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'tfjs-serving.js');

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('publish adds versions (highest + 1 by default, or --version N) with sizes and sha256 in the manifest', async () => {
  const repo = await tempDir('cli-repo');
  try {
    const first = await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'));
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { model: 'dense', version: 1, manifest: join(repo, 'dense', 'manifest.json') });
    const pinned = await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'), '--version', '7');
    assert.equal(pinned.code, 0, pinned.stderr);
    const next = await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'));
    assert.equal(JSON.parse(next.stdout).version, 8);

    const manifest = parseManifest(await readFile(join(repo, 'dense', 'manifest.json'), 'utf8'), 'test');
    assert.deepEqual(manifest.versions.map((v) => v.version), [1, 7, 8]);
    for (const v of manifest.versions) {
      for (const f of v.files) {
        const bytes = await readFile(join(repo, 'dense', String(v.version), f.path));
        assert.equal(f.size, bytes.length);
        assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
      }
    }
    assert.deepEqual((await readdir(join(repo, 'dense'))).sort(), ['1', '7', '8', 'manifest.json'], 'no temporary files left');
  } finally {
    await removeTempDirs();
  }
});

test('publish takes a model JSON file with another name (npm packages ship emotion.json + emotion.bin)', async () => {
  const repo = await tempDir('cli-repo');
  try {
    const r = await cli('publish', humanModel('emotion'), join(repo, 'emotion'));
    assert.equal(r.code, 0, r.stderr);
    const files = await readdir(join(repo, 'emotion', '1'));
    // One shard per weight (publish's default), named by the weight: no emotion.bin.
    assert.ok(files.includes('model.json') && files.filter((f) => f.endsWith('.bin')).length > 1 && !files.includes('emotion.bin'), files.join(', '));
  } finally {
    await removeTempDirs();
  }
});

test('publish refuses bad input with a clear message and exit code 1, leaving the repository as it was', async () => {
  const repo = await tempDir('cli-repo');
  try {
    await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'));
    const before = await readFile(join(repo, 'dense', 'manifest.json'), 'utf8');
    const again = await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'), '--version', '1');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ALREADY_EXISTS: version 1 of dense is already published/);
    const missing = await cli('publish', join(repo, 'nope'), join(repo, 'dense'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: .*nope does not exist/);
    const badVersion = await cli('publish', DENSE_MODEL_DIR, join(repo, 'dense'), '--version', 'two');
    assert.match(badVersion.stderr, /--version needs a non-negative integer, got "two"/);
    const noShard = await tempDir('cli-model');
    await writeFile(join(noShard, 'model.json'), await readFile(join(DENSE_MODEL_DIR, 'model.json')));
    const r = await cli('publish', noShard, join(repo, 'dense'));
    assert.match(r.stderr, /lists weight file group1-shard1of1.bin, which cannot be read: ENOENT/);
    const layers = await tempDir('cli-model');
    await writeFile(join(layers, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: { class_name: 'Sequential' }, weightsManifest: [] }));
    assert.match((await cli('publish', layers, join(repo, 'dense'))).stderr, /FAILED_PRECONDITION: .*Keras layers model/);
    assert.equal((await cli('publish')).code, 1);
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal(await readFile(join(repo, 'dense', 'manifest.json'), 'utf8'), before);
    assert.deepEqual((await readdir(join(repo, 'dense'))).sort(), ['1', 'manifest.json']);
  } finally {
    await removeTempDirs();
  }
});

test('publish converts a SavedModel (TF Serving half_plus_two) and the server serves its predict and regress signatures', async () => {
  const { LocalModelServer, ServingError } = await import('../../src/index.js');
  const { FileSystemModelStore } = await import('../../src/storage/file-system-model-store.js');
  const { RepositoryServer } = await import('../helpers/repository-server.js');
  const savedModel = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');
  const repo = await tempDir('cli-repo');
  const http = await RepositoryServer.start(repo);
  try {
    const r = await cli('publish', savedModel, join(repo, 'half_plus_two'), '--version', '123');
    assert.equal(r.code, 0, r.stderr);
    const server = await LocalModelServer.start({
      modelConfigList: [{ name: 'half_plus_two', basePath: http.modelUrl('half_plus_two') }],
      store: new FileSystemModelStore(await tempDir('cli-store')),
      pollIntervalMs: 0,
      backends: ['wasm'],
    });
    try {
      const y = await server.predict({ model: 'half_plus_two', inputs: { x: [[1], [2], [5]] } });
      assert.equal(y.model.version, 123);
      assert.deepEqual([...(y.outputs.y!.data as Float32Array)], [2.5, 3, 4.5]);
      const regress = await server.predict({ model: 'half_plus_two', signatureName: 'regress_x_to_y2', inputs: { x: [[2]] } });
      assert.deepEqual([...(Object.values(regress.outputs)[0]!.data as Float32Array)], [4]);
      const sigs = Object.keys((await server.getModelMetadata('half_plus_two')).metadata.signature_def.signature_def).sort();
      assert.deepEqual(sigs, ['classify_x_to_y', 'regress_x2_to_y3', 'regress_x_to_y', 'regress_x_to_y2', 'serving_default']);
      await assert.rejects(server.predict({ model: 'half_plus_two', signatureName: 'nope', inputs: {} }), (e: InstanceType<typeof ServingError>) => e.code === 'INVALID_ARGUMENT');
    } finally {
      await server.close();
    }
  } finally {
    await http.close();
    await removeTempDirs();
  }
});
