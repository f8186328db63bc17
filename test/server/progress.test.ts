// Progress like Transformers.js's, from a real HTTP repository on 127.0.0.1: per version, `progress`
// events in phase order (download → verify → load → warmup) with the file, bytes and percent; and
// `totalprogress` across the versions being started at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from '../helpers/serving.js';
import type { DownloadProgressEvent, TotalProgressEvent } from '../../src/index.js';

const ORDER = ['download', 'verify', 'load', 'warmup'];

test('progress: phases in order with file, bytes and percent; totalprogress aggregates the models being started and ends at 100', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await h.publishDense('n', 1);
    const progress: DownloadProgressEvent[] = [];
    const totals: TotalProgressEvent[] = [];
    const server = await h.start({
      models: ['m', 'n'],
      listeners: { progress: (e) => progress.push(e), totalprogress: (e) => totals.push(e) },
    });
    for (const model of ['m', 'n']) {
      const mine = progress.filter((e) => e.model === model && e.version === 1);
      const phases: string[] = mine.map((e) => e.phase).filter((p, i, all) => all[i - 1] !== p);
      // verify follows each file's download, so the two alternate; then load, then warmup.
      const firstOf = (p: string) => phases.indexOf(p);
      assert.deepEqual(ORDER.map(firstOf).every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1]!)), true, `phases of ${model}: ${phases.join(' ')}`);
      assert.deepEqual(phases.slice(-2), ['load', 'warmup'], `${model} ends loading, then warming up`);
      const downloads = mine.filter((e) => e.phase === 'download');
      const total = downloads[0]!.totalBytes;
      assert.ok(total > 0);
      assert.equal(downloads[0]!.loadedBytes, 0);
      assert.equal(downloads.at(-1)!.loadedBytes, total);
      assert.ok(downloads.every((e, i) => i === 0 || e.loadedBytes >= downloads[i - 1]!.loadedBytes), 'bytes only grow');
      const verified = mine.filter((e) => e.phase === 'verify').map((e) => e.file);
      assert.ok(verified.includes('model.json') && verified.some((f) => f?.endsWith('.bin')), `every file is verified: ${verified.join(', ')}`);
      const loads = mine.filter((e) => e.phase === 'load');
      assert.equal(loads[0]!.file, 'model.json');
      assert.ok(loads.some((e) => e.file?.endsWith('.bin')), 'weight files are named as they are read');
      assert.equal(loads.at(-1)!.percent, 100);
      const warmups = mine.filter((e) => e.phase === 'warmup');
      assert.deepEqual([warmups[0]!.percent, warmups.at(-1)!.percent], [0, 100]);
      for (const e of mine) {
        assert.ok(e.percent >= 0 && e.percent <= 100, `${e.phase} ${e.percent}`);
        assert.equal(e.totalBytes, total);
      }
    }
    const last = totals.at(-1)!;
    assert.deepEqual([...last.versions].sort(), ['m@1', 'n@1'], 'one round over both models started together');
    assert.equal(last.done, 2);
    assert.equal(last.percent, 100);
    assert.equal(last.loadedBytes, last.totalBytes);
    assert.ok(totals.every((t, i) => i === 0 || t.percent >= totals[i - 1]!.percent - 1e-9 || t.versions.length > totals[i - 1]!.versions.length), 'the aggregate only grows within a round');

    // The next version starts a new round of its own.
    totals.length = 0;
    await h.publishDense('m', 2);
    await server.pollNow('m');
    assert.deepEqual(totals.at(-1)!.versions, ['m@2']);
    assert.equal(totals.at(-1)!.percent, 100);
  } finally {
    await h.close();
  }
});

test('totalprogress: a version whose download fails counts as done (failed), so the round still ends', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await h.publishDense('n', 1);
    const manifest = JSON.parse(await (await fetch(`${h.repo.modelUrl('n')}/manifest.json`)).text()) as { versions: Array<{ files: Array<{ path: string }> }> };
    const weights = manifest.versions[0]!.files.find((f) => f.path.endsWith('.bin'))!.path; // the dense model has one weight file
    h.repo.fault(`/n/1/${weights}`, { kind: 'status', status: 500 });
    const totals: TotalProgressEvent[] = [];
    await h.start({ models: ['m', 'n'], listeners: { totalprogress: (e) => totals.push(e) } });
    const last = totals.at(-1)!;
    assert.deepEqual([...last.versions].sort(), ['m@1', 'n@1']);
    assert.equal(last.done, 2, 'n@1 failed its download and is done too');
    assert.ok(last.percent < 100, `n@1's bytes never came: ${last.percent}`);
  } finally {
    await h.close();
  }
});

test('progress from a local directory (Node): each imported file is named, then load and warmup', async () => {
  const { cp, mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { registerFileSystemSource } = await import('../../src/server/file-system-source-factory.js');
  const { LocalModelServer, MemoryModelStore } = await import('../../src/index.js');
  const { denseModel, tempDir, removeTempDirs } = await import('../helpers/models.js');
  registerFileSystemSource();
  const base = join(await tempDir('fs-progress'), 'm');
  await mkdir(base, { recursive: true });
  await cp(await denseModel(1, 0), join(base, '1'), { recursive: true });
  const progress: DownloadProgressEvent[] = [];
  const server = await LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: base }],
    store: new MemoryModelStore(),
    backends: ['cpu'],
    pollIntervalMs: 0,
    listeners: { progress: (e) => progress.push(e) },
  });
  try {
    const imported = progress.filter((e) => e.phase === 'download');
    assert.ok(imported.some((e) => e.file === 'model.json') && imported.some((e) => e.file?.endsWith('.bin')), imported.map((e) => e.file).join(', '));
    assert.equal(imported.at(-1)!.loadedBytes, imported.at(-1)!.totalBytes);
    assert.deepEqual([...new Set(progress.map((e) => e.phase))], ['download', 'load', 'warmup']);
  } finally {
    await server.close();
    await removeTempDirs();
  }
});
