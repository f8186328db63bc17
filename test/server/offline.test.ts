// Offline start: committed versions load from the store with no network at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, predictDense, valueOf } from '../helpers/serving.js';
import { denseExpected } from '../helpers/models.js';
import { RepositoryServer } from '../helpers/repository-server.js';

test('restart with the HTTP server gone → serves v2 from the store, reports the poll error, recovers when it returns', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await h.publishDense('m', 2);
    const first = await h.start({});
    assert.equal((await predictDense(first, 1)).model.version, 2);
    await first.close();
    const url = h.repo.url;
    await h.repo.close(); // the network is gone

    const requestsBefore = h.repo.requests.length;
    const server = await h.start({});
    assert.equal(h.repo.requests.length, requestsBefore, 'the closed server saw nothing');
    const r = await predictDense(server, 3);
    assert.equal(r.model.version, 2);
    assert.equal(valueOf(r), denseExpected(2, 0, 3));
    const source = await server.sourceState('m');
    assert.equal(source.lastError?.code, 'UNAVAILABLE');
    assert.match(source.lastError!.message, new RegExp(`GET ${url}/m/manifest.json failed`));
    assert.deepEqual(source.storedVersions, [2]);
    assert.equal(source.publishedVersions, undefined, 'no manifest was seen this session');
    assert.deepEqual((await server.getModelStatus('m')).model_version_status.map((s) => `${s.version}:${s.state}`), ['2:AVAILABLE']);

    // The repository comes back (same address) with a new version: the next poll picks it up.
    await h.publishDense('m', 3);
    const back = await RepositoryServer.start(h.repoDir, h.repo.listeningPort);
    try {
      await server.pollNow();
      assert.equal((await predictDense(server, 1)).model.version, 3);
      assert.equal((await server.sourceState('m')).lastError, undefined);
    } finally {
      await back.close();
    }
  } finally {
    await h.close().catch(() => undefined);
  }
});

test('a crash mid-download leaves no visible version: abandoned staged files are collected at the next start', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    await server.close();
    // Simulate a crash: a staging directory left behind by a download that never committed.
    const { mkdir, writeFile, readdir, utimes } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const crashed = join(h.storeDir, 'm', '.staging', '2-crashed');
    const fresh = join(h.storeDir, 'm', '.staging', '3-another-process');
    await mkdir(crashed, { recursive: true });
    await mkdir(fresh, { recursive: true });
    await writeFile(join(crashed, 'model.json'), '{"half":');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(crashed, twoHoursAgo, twoHoursAgo);
    const again = await h.start({});
    assert.deepEqual(await again.store.listVersions('m'), [1]);
    assert.deepEqual(await readdir(join(h.storeDir, 'm', '.staging')), ['3-another-process'], 'a recent staging dir may be another process at work: kept');
    assert.equal((await predictDense(again, 1)).model.version, 1);
  } finally {
    await h.close();
  }
});
