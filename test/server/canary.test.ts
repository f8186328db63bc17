// Canary traffic end to end: versions published by the real CLI publisher to a repository on a real
// HTTP server on 127.0.0.1, real TF.js graph models (version v computes y = v·x, so an answer says
// which version gave it) on the wasm backend, a file-system store, TF Serving's REST API over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs';
import { harness, valueOf } from '../helpers/serving.js';
import type { LocalModelServer, ModelConfig } from '../../src/index.js';
import type { CounterSnapshot } from '../../src/metrics/metrics-registry.js';
import { startRestServer } from '../../src/rest/node-http.js';
import { readModelConfigFile } from '../../src/cli/serve.js';
import { normalizeModelConfigList } from '../../src/server/model-server-options.js';

const USERS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);

/** Each user's version, read from the answer itself (y = v·1), through real predicts; yields between them (wasm is synchronous). */
async function versionsOf(server: LocalModelServer, users: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const userId of users) {
    const r = await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, { userId });
    assert.equal(valueOf(r), r.model.version, `${userId}: the answer comes from the version the response names`);
    out.set(userId, r.model.version);
    await tick();
  }
  return out;
}

function share(versions: Map<string, number>, version: number): number {
  return ([...versions.values()].filter((v) => v === version).length / versions.size) * 100;
}

function versionRequestCounts(snapshot: Record<string, unknown>): Record<string, number> {
  const counter = snapshot['/tfjs_serving/version_request_count'] as CounterSnapshot | undefined; // a counter by its METRIC_NAMES entry
  return Object.fromEntries((counter?.samples ?? []).map((s) => [`${s.labels.model_name}/${s.labels.model_version}/${s.labels.status}`, s.value]));
}

/** Versions 1 and 2 of `m`, the manifest steering 40 % of users to 2; returns the publisher's manifest and its path (to rewrite it). */
async function publishWithManifestCanary(h: Awaited<ReturnType<typeof harness>>): Promise<{ manifestPath: string; manifest: Record<string, unknown> }> {
  for (const v of [1, 2]) await h.publishDense('m', v);
  const manifestPath = join(h.repoDir, 'm', 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>; // the publisher's manifest
  await writeFile(manifestPath, JSON.stringify({ ...manifest, canary: { version: 2, percent: 40 } }));
  return { manifestPath, manifest };
}

/** Predicts in a loop (fresh users) until stopped; counts failures. */
function load(server: LocalModelServer): { stop: () => Promise<{ ok: number; failed: unknown[] }> } {
  let running = true;
  const failed: unknown[] = [];
  let ok = 0;
  const loops = Array.from({ length: 4 }, async (_, k) => {
    for (let i = 0; running; i++) {
      try {
        await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, { userId: `load-${k}-${i}` });
        ok++;
      } catch (e) {
        failed.push(e);
      }
      await tick();
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed };
    },
  };
}

test('canary 10% under latest{1}: v2 stays loaded beside v3; 1,000 users → 10 ± 3 % on v3, each sticky; per-version metrics; REST header; rollback and promote by reloadConfig with no failed request and no tensor leak', async () => {
  const h = await harness();
  try {
    for (const v of [1, 2, 3]) await h.publishDense('m', v);
    const config = (extra: Partial<ModelConfig>): ModelConfig => ({ name: 'm', basePath: h.repo.modelUrl('m'), ...extra });
    const server = await h.start({ modelConfigList: [config({ canary: { version: 3, percent: 10 } })] });
    const status = async () => (await server.getModelStatus('m')).model_version_status.filter((s) => s.state === 'AVAILABLE').map((s) => Number(s.version)).sort();
    assert.deepEqual(await status(), [2, 3], 'latest{1} picks v2 among the versions other than the canary; the canary rides on top');

    const first = await versionsOf(server, USERS);
    assert.deepEqual(new Set(first.values()), new Set([2, 3]));
    const canaryShare = share(first, 3);
    assert.ok(Math.abs(canaryShare - 10) <= 3, `canary share ${canaryShare}%`);
    const again = await versionsOf(server, USERS);
    for (const u of USERS) assert.equal(again.get(u), first.get(u), `${u} changed version`);

    // A request naming a version or a label is not split.
    const pinned = await server.predict({ model: 'm', version: 2, inputs: { 'dense_dense1_input:0': [[1]] } }, { userId: USERS.find((u) => first.get(u) === 3) });
    assert.equal(pinned.model.version, 2);

    // Per-version metrics: the app compares canary and stable from these.
    const counts = versionRequestCounts(await server.metrics());
    const onCanary = [...first.values()].filter((v) => v === 3).length;
    assert.equal(counts['m/3/OK'], 2 * onCanary);
    assert.equal(counts['m/2/OK'], 2 * (1000 - onCanary) + 1);
    assert.match(await server.prometheusMetrics(), /:tfjs_serving:version_request_latency_count\{model_name="m",model_version="3"\} \d+/);

    // REST: the X-Tfjs-Serving-User header is the user id; the same user gets the same version over HTTP.
    const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
    try {
      const post = (userId: string) =>
        fetch(`http://127.0.0.1:${rest.port}/v1/models/m:predict`, { method: 'POST', headers: { 'X-Tfjs-Serving-User': userId }, body: JSON.stringify({ instances: [[1]] }) });
      for (const u of USERS.slice(0, 60)) {
        const body = (await (await post(u)).json()) as { predictions: number[][] }; // TF Serving's row-format answer
        assert.equal(body.predictions[0]?.[0], first.get(u), `${u} over REST`);
      }
      const bad = await post(' ');
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /header X-Tfjs-Serving-User must be a user id of 1 to 256 characters/);
    } finally {
      await rest.close();
    }
    await assert.rejects(server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, { userId: '' }), (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /userId must be a non-empty string/.test(e.message));

    await server.whenIdle();
    const baseline = tf.memory().numTensors;

    // Rollback: percent 0 moves every user to v2 at once, under load, with no failed request.
    let running = load(server);
    await server.reloadConfig({ modelConfigList: [config({ canary: { version: 3, percent: 0 } })] });
    let outcome = await running.stop();
    assert.deepEqual(outcome.failed, []);
    assert.ok(outcome.ok > 0);
    assert.deepEqual(new Set((await versionsOf(server, USERS)).values()), new Set([2]), 'rollback moves everyone');
    assert.deepEqual(await status(), [2, 3], 'the canary stays loaded for a retry');

    // Back to 10%: the same users are in the canary again.
    await server.reloadConfig({ modelConfigList: [config({ canary: { version: 3, percent: 10 } })] });
    const resumed = await versionsOf(server, USERS);
    for (const u of USERS) assert.equal(resumed.get(u), first.get(u), `${u} after the canary came back`);

    // Promote: remove the canary; under latest{1} v3 is the newest, so everyone moves to it, and v2 unloads.
    running = load(server);
    await server.reloadConfig({ modelConfigList: [config({})] });
    outcome = await running.stop();
    assert.deepEqual(outcome.failed, []);
    assert.deepEqual(new Set((await versionsOf(server, USERS)).values()), new Set([3]), 'promotion moves everyone');
    await server.whenIdle();
    assert.deepEqual(await status(), [3]);
    assert.ok(tf.memory().numTensors <= baseline, `tensors: ${tf.memory().numTensors} after, ${baseline} before (v2 unloaded)`);
  } finally {
    await h.close();
  }
});

test('rollback by removing the canary under a specific policy unloads it; a canary not yet published leaves everyone on stable until it is AVAILABLE', async () => {
  const h = await harness();
  try {
    for (const v of [1, 2]) await h.publishDense('m', v);
    const config = (extra: Partial<ModelConfig>): ModelConfig => ({ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: { specific: { versions: [1] } }, ...extra });
    const server = await h.start({ modelConfigList: [config({ canary: { version: 3, percent: 30 } })] });
    const users = USERS.slice(0, 300);
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([1]), 'canary v3 is not published: everyone on v1');

    await h.publishDense('m', 3);
    await server.pollNow('m');
    const split = await versionsOf(server, users);
    assert.deepEqual(new Set(split.values()), new Set([1, 3]));
    assert.ok(Math.abs(share(split, 3) - 30) <= 6, `canary share ${share(split, 3)}% of 300 users`);
    const baseline = tf.memory().numTensors;

    const running = load(server);
    await server.reloadConfig({ modelConfigList: [config({})] });
    const outcome = await running.stop();
    assert.deepEqual(outcome.failed, [], 'no failed request while the canary is removed');
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([1]));
    await server.whenIdle();
    const available = (await server.getModelStatus('m')).model_version_status.filter((s) => s.state === 'AVAILABLE').map((s) => s.version);
    assert.deepEqual(available, ['1'], 'v3 unloaded');
    assert.ok(tf.memory().numTensors < baseline, `tensors: ${tf.memory().numTensors} after, ${baseline} with v3 loaded`);
  } finally {
    await h.close();
  }
});

test('the manifest may steer the split; a config canary wins over it', async () => {
  const h = await harness();
  try {
    const { manifestPath, manifest } = await publishWithManifestCanary(h);
    const policy = { latest: { numVersions: 2 } };
    const server = await h.start({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: policy }] });
    assert.deepEqual((await server.sourceState('m')).canary, { version: 2, percent: 40 });
    const users = USERS.slice(0, 400);
    const steered = await versionsOf(server, users);
    assert.ok(Math.abs(share(steered, 2) - 40) <= 7, `manifest canary share ${share(steered, 2)}% of 400 users`);

    // The config's own canary (here 0%: a rollback on the device) wins over the manifest's.
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: policy, canary: { version: 2, percent: 0 } }] });
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([1]));

    // Back to the manifest's split; then the repository rolls back by dropping the canary from the manifest.
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), modelVersionPolicy: policy }] });
    const back = await versionsOf(server, users);
    for (const u of users) assert.equal(back.get(u), steered.get(u), `${u}`);
    await writeFile(manifestPath, JSON.stringify({ ...manifest, canary: { version: 2, percent: 0 } }));
    await server.pollNow('m');
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([1]), 'the manifest rolled everyone back');
  } finally {
    await h.close();
  }
});

test('a bad canary in the config is refused before anything loads, naming the model and the field', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    await assert.rejects(
      h.start({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), canary: { version: 2, percent: 120 } }] }),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /model m: canary\.percent must be a number from 0 to 100, got 120/.test(e.message),
    );
    await assert.rejects(h.start({ userId: '' }), /ModelServer\.start options: userId must be a non-empty string/);
  } finally {
    await h.close();
  }
});

test('config files: the JSON form of --model_config_file takes a canary; TF Serving text proto has no such field and says so', async () => {
  const h = await harness();
  try {
    const json = join(h.storeDir, 'models.json');
    await writeFile(json, JSON.stringify({ model_config_list: [{ name: 'm', base_path: '/repo/m', canary: { version: 3, percent: 10 } }] }));
    const [config] = normalizeModelConfigList(await readModelConfigFile(json));
    assert.deepEqual(config?.canary, { version: 3, percent: 10 });
    const text = join(h.storeDir, 'models.config');
    await writeFile(text, 'model_config_list { config { name: "m" base_path: "/repo/m" canary { version: 3 } } }\n');
    await assert.rejects(readModelConfigFile(text), /models\.config:1:\d+: unknown field "canary" in tensorflow\.serving\.ModelConfig/);
  } finally {
    await h.close();
  }
});

test('a manifest canary is kept loaded by itself under the default policy; dropping it promotes, a config canary still wins', async () => {
  const h = await harness();
  try {
    const { manifestPath, manifest } = await publishWithManifestCanary(h);
    const server = await h.start({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m') }] });
    await server.whenIdle();
    const availableNow = async (): Promise<string[]> =>
      (await server.getModelStatus('m')).model_version_status.filter((s) => s.state === 'AVAILABLE').map((s) => s.version).sort();
    assert.deepEqual(await availableNow(), ['1', '2'], 'latest 1 keeps v1 as stable and the manifest canary v2 on top');
    const users = USERS.slice(0, 400);
    const steered = await versionsOf(server, users);
    assert.ok(Math.abs(share(steered, 2) - 40) <= 7, `manifest canary share ${share(steered, 2)}% of 400 users`);

    // A config canary (0 %: off on this device) wins: the policy it makes keeps v2 loaded, nobody is sent there.
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m'), canary: { version: 2, percent: 0 } }] });
    await server.whenIdle();
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([1]));
    await server.reloadConfig({ modelConfigList: [{ name: 'm', basePath: h.repo.modelUrl('m') }] });

    // The repository promotes by dropping the canary: latest 1 is v2 for everyone, v1 unloads, no request fails.
    const running = load(server);
    await writeFile(manifestPath, JSON.stringify(manifest));
    await server.pollNow('m');
    await server.whenIdle();
    const outcome = await running.stop();
    assert.deepEqual(outcome.failed, [], 'no failed request while the canary is promoted');
    assert.deepEqual(await availableNow(), ['2']);
    assert.deepEqual(new Set((await versionsOf(server, users)).values()), new Set([2]));
  } finally {
    await h.close();
  }
});
