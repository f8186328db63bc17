// A manifest that drops every version is taken for a broken publish: what serves keeps serving and the
// manifest is reported FAILED_PRECONDITION; only `"retired": true` (or removing the model) unloads it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceErrorEvent } from '../../src/index.js';
import { harness, predictDense, valueOf } from '../helpers/serving.js';

async function rewriteManifest(repoDir: string, change: (m: Record<string, unknown>) => void): Promise<void> {
  const path = join(repoDir, 'm', 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  change(manifest);
  await writeFile(path, JSON.stringify(manifest));
}

test('"versions": [] keeps v1 serving and is reported FAILED_PRECONDITION; "retired": true unloads; a new publish revives', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const errors: string[] = [];
    server.addEventListener('sourceerror', (e) => errors.push((e as SourceErrorEvent).code));

    await rewriteManifest(h.repoDir, (m) => (m.versions = []));
    await server.pollNow();
    assert.equal(valueOf(await predictDense(server, 2)), 2, 'v1 still answers');
    const state = await server.sourceState('m');
    assert.equal(state.lastError?.code, 'FAILED_PRECONDITION');
    assert.match(state.lastError?.message ?? '', /lists no versions of m.*"retired": true/);
    assert.deepEqual(errors, ['FAILED_PRECONDITION']);
    assert.equal((await server.getModelStatus('m', 1)).model_version_status[0]?.state, 'AVAILABLE');
    assert.deepEqual(await server.store.listVersions('m'), [1], 'the stored copy is kept');

    await rewriteManifest(h.repoDir, (m) => Object.assign(m, { versions: [], retired: true }));
    await server.pollNow();
    assert.equal((await server.getModelStatus('m', 1)).model_version_status[0]?.state, 'END');
    await assert.rejects(predictDense(server, 2), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
    assert.deepEqual(await server.store.listVersions('m'), [], 'a retired model leaves the store');

    await h.publishDense('m', 2);
    const manifest = JSON.parse(await readFile(join(h.repoDir, 'm', 'manifest.json'), 'utf8')) as { retired?: boolean };
    assert.equal(manifest.retired, undefined, 'publishing a version brings the model back');
    await server.pollNow();
    assert.equal(valueOf(await predictDense(server, 2)), 4);
  } finally {
    await h.close();
  }
});

test('a manifest with "retired" that is not a boolean is refused by name', async () => {
  const { parseManifest } = await import('../../src/repository/manifest.js');
  assert.throws(
    () => parseManifest(JSON.stringify({ format: 'tfjs-serving-manifest', formatVersion: 1, name: 'm', versions: [], retired: 'yes' }), 'GET x'),
    (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /"retired" must be true or false/.test(e.message),
  );
});
