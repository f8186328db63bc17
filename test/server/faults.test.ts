// A half-published or corrupt version never replaces a good one: each fault leaves v1 serving, shows
// the error in status, and a later good poll recovers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { changedWeightFile, harness, predictDense } from '../helpers/serving.js';
import type { Fault } from '../helpers/repository-server.js';
import type { Harness } from '../helpers/serving.js';


interface Case {
  name: string;
  /** Breaks version 2 (after it was published) and returns how to repair it. */
  breakIt(h: Harness): Promise<() => Promise<void>>;
  code: string;
  message: RegExp;
  /** Where the error shows: the version's status, or only the source (bad manifest: no version known). */
  inVersionStatus: boolean;
}

const changedShard = (h: Harness) => changedWeightFile(h.repoDir, 'm', 1, 2);

/** A transport fault on `path`, or on version 2's changed weight file. */
const serverFault = (fault: Fault, path?: string) => async (h: Harness) => {
  h.repo.fault(path ?? `/m/2/${await changedShard(h)}`, fault);
  return async () => h.repo.clearFaults();
};

const cases: Case[] = [
  {
    name: 'corrupt shard (wrong bytes, same size)',
    breakIt: async (h) => {
      const file = join(h.repoDir, 'm', '2', await changedShard(h));
      const good = await readFile(file);
      await writeFile(file, new Uint8Array(good.length).fill(7));
      return () => writeFile(file, good);
    },
    code: 'DATA_LOSS',
    message: /sha256 [0-9a-f]{64} does not match the manifest's/,
    inVersionStatus: true,
  },
  {
    name: 'missing file (404)',
    breakIt: async (h) => {
      const file = join(h.repoDir, 'm', '2', await changedShard(h));
      const good = await readFile(file);
      await rm(file);
      return () => writeFile(file, good);
    },
    code: 'NOT_FOUND',
    message: /returned HTTP 404/,
    inVersionStatus: true,
  },
  // Version 2's model.json and bias have the bytes of version 1's, which the store holds: they are not
  // fetched (content-addressed store), so the transport faults hit the kernel's shard, the one file that changed.
  {
    name: 'HTTP 500 on the shard',
    breakIt: serverFault({ kind: 'status', status: 500 }),
    code: 'UNAVAILABLE',
    message: /returned HTTP 500/,
    inVersionStatus: true,
  },
  {
    name: 'connection reset mid-body',
    breakIt: serverFault({ kind: 'reset', afterBytes: 2 }),
    code: 'UNAVAILABLE',
    message: /the connection failed after 2 of 4 bytes/,
    inVersionStatus: true,
  },
  {
    name: 'truncated file (short body)',
    breakIt: async (h) => {
      const file = join(h.repoDir, 'm', '2', await changedShard(h));
      const good = await readFile(file);
      await writeFile(file, good.subarray(0, 2));
      return () => writeFile(file, good);
    },
    code: 'DATA_LOSS',
    message: /got 2 bytes, but the manifest lists 4 for \S+\.bin/,
    inVersionStatus: true,
  },
  {
    name: 'bad manifest JSON',
    breakIt: async (h) => {
      const file = join(h.repoDir, 'm', 'manifest.json');
      const good = await readFile(file);
      await writeFile(file, good.subarray(0, good.length - 10));
      return () => writeFile(file, good);
    },
    code: 'INVALID_ARGUMENT',
    message: /manifest is not valid JSON/,
    inVersionStatus: false,
  },
  {
    name: 'manifest HTTP 500',
    breakIt: serverFault({ kind: 'status', status: 500 }, '/m/manifest.json'),
    code: 'UNAVAILABLE',
    message: /manifest.json returned HTTP 500/,
    inVersionStatus: false,
  },
];

for (const c of cases) {
  test(`fault: ${c.name} → v2 not loaded, error in status, v1 serves, a later good poll recovers`, async () => {
    const h = await harness();
    try {
      await h.publishDense('m', 1);
      const server = await h.start({});
      const sourceErrors: string[] = [];
      server.addEventListener('sourceerror', (e) => sourceErrors.push((e as unknown as { code: string }).code));
      await h.publishDense('m', 2);
      const repair = await c.breakIt(h);
      await server.pollNow();

      assert.equal((await predictDense(server, 1)).model.version, 1, 'v1 still serves');
      assert.deepEqual(await server.store.listVersions('m'), [1], 'nothing of v2 is visible in the store');
      const source = await server.sourceState('m');
      assert.equal(source.lastError?.code, c.code);
      assert.match(source.lastError!.message, c.message);
      assert.equal(source.consecutiveFailures, 1);
      assert.deepEqual(sourceErrors, [c.code]);
      const statuses = (await server.getModelStatus('m')).model_version_status;
      if (c.inVersionStatus) {
        assert.deepEqual(statuses.map((s) => `${s.version}:${s.state}:${s.status.error_code}`), [`2:START:${c.code}`, '1:AVAILABLE:OK']);
        assert.match(statuses[0]!.status.error_message, c.message);
      } else {
        assert.deepEqual(statuses.map((s) => `${s.version}:${s.state}`), ['1:AVAILABLE']);
      }

      await repair();
      await server.pollNow();
      assert.equal((await predictDense(server, 1)).model.version, 2, 'the repaired v2 serves after the next poll');
      assert.equal((await server.sourceState('m')).lastError, undefined);
      assert.equal((await server.sourceState('m')).consecutiveFailures, 0);
      assert.deepEqual((await server.getModelStatus('m', 2)).model_version_status[0]!.status, { error_code: 'OK', error_message: '' });
    } finally {
      await h.close();
    }
  });
}

test('a version whose files verify but do not load (model.json disagrees with its shard) ends in END with its error; v1 serves', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    // Publish a version whose files are intact (sizes and hashes verify) but whose model.json describes
    // weights its shard does not hold: it downloads and commits, then fails to load. `publish` refuses
    // such a model, so the repository is edited after publishing (a publisher that does not check).
    const { createHash } = await import('node:crypto');
    await h.publishDense('m', 2);
    const jsonPath = join(h.repoDir, 'm', '2', 'model.json');
    const json = JSON.parse(await readFile(jsonPath, 'utf8'));
    json.weightsManifest[0].weights[0].shape = [3, 3]; // the shard no longer holds what the manifest says
    const bytes = Buffer.from(JSON.stringify(json));
    await writeFile(jsonPath, bytes);
    const manifestPath = join(h.repoDir, 'm', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    const entry = manifest.versions.find((v: { version: number }) => v.version === 2).files.find((f: { path: string }) => f.path === 'model.json');
    Object.assign(entry, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    await writeFile(manifestPath, JSON.stringify(manifest));
    await server.pollNow();
    const v2 = (await server.getModelStatus('m', 2)).model_version_status[0]!;
    assert.equal(v2.state, 'END');
    assert.equal(v2.status.error_code, 'DATA_LOSS');
    assert.match(v2.status.error_message, /weight files hold 8 bytes, but model.json's weightsManifest describes 40/);
    assert.equal((await predictDense(server, 1)).model.version, 1);
  } finally {
    await h.close();
  }
});

test('back-off: failed polls wait exponentially longer, then return to the interval', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({ pollIntervalMs: 1000 });
    h.repo.fault('/m/manifest.json', { kind: 'status', status: 503 });
    await server.pollNow();
    assert.equal((await server.sourceState('m')).nextPollDelayMs, 2000);
    await server.pollNow();
    assert.equal((await server.sourceState('m')).nextPollDelayMs, 4000);
    h.repo.clearFaults();
    await server.pollNow();
    assert.equal((await server.sourceState('m')).nextPollDelayMs, 1000);
  } finally {
    await h.close();
  }
});

test('a version republished with other bytes is reported (FAILED_PRECONDITION), and the stored copy keeps serving', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    // Rewrite version 1 in place, manifest included: the mistake versions' immutability forbids.
    const { createHash } = await import('node:crypto');
    const manifestPath = join(h.repoDir, 'm', 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    // The first weight file: the dense layer's kernel (published one shard per weight).
    const file = manifest.versions[0].files.find((f: { path: string }) => f.path.endsWith('.bin'));
    const bytes = new Uint8Array(new Float32Array([5]).buffer);
    await writeFile(join(h.repoDir, 'm', '1', file.path), bytes);
    file.sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(manifestPath, JSON.stringify(manifest));
    await server.pollNow();
    const source = await server.sourceState('m');
    assert.equal(source.lastError?.code, 'FAILED_PRECONDITION');
    assert.match(source.lastError!.message, /version 1 of m in .* differs from the stored version 1 \(\S+\.bin: sha256 .* stored, .* published\); versions are immutable/);
    const r = await predictDense(server, 2);
    assert.equal(r.model.version, 1);
    assert.equal(r.outputs['Identity:0']!.data[0], 2, 'still the stored bytes (y = 1·x)');
  } finally {
    await h.close();
  }
});
