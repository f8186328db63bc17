// Three replicas — three `serve` processes, each with its own store — polling one private bucket through
// a TF Serving model config file: while a new version is published, closed-loop callers against every
// replica see no failed request, and all three serve the new version within two poll intervals.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { publishGraphModel } from '../../src/repository/publish.js';
import { denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import type { ServeProcess } from '../config/serve-process.js';
import { startServeProcess, waitFor } from '../config/serve-process.js';
import { S3TestServer } from './s3-test-server.js';
import { withAwsEnv } from './s3-env.js';

const POLL_SECONDS = 2;
const REPLICAS = 3;

let s3: S3TestServer;
const replicas: ServeProcess[] = [];
before(async () => {
  s3 = await S3TestServer.start();
  await s3.createBucket('models');
  s3.keys.set('REPLICAKEY', { secret: 'replica-secret', buckets: ['models'] });
});
after(async () => {
  for (const r of replicas) r.child.kill('SIGTERM');
  await Promise.all(replicas.map((r) => r.exited));
  await s3.close();
  await removeTempDirs();
});

interface Caller {
  /** Answers by version (the dense model answers kernel × 1: version N has kernel N). */
  readonly answers: Map<number, number>;
  readonly failures: string[];
  /** When this replica first answered with version 2. */
  firstV2?: number;
  /** Version-1 answers after a version-2 answer (a replica flapping back). */
  regressions: number;
}

/** Predicts x = 1 against `port` in a closed loop until `stop()`; records versions and failures. */
function callLoop(port: number, stopped: () => boolean): { caller: Caller; done: Promise<void> } {
  const caller: Caller = { answers: new Map(), failures: [], regressions: 0 };
  const done = (async () => {
    while (!stopped()) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/models/m:predict`, { method: 'POST', body: JSON.stringify({ instances: [[1]] }) });
        const text = await res.text();
        if (res.status !== 200) {
          caller.failures.push(`HTTP ${res.status}: ${text}`);
          continue;
        }
        const version = Math.round(JSON.parse(text).predictions[0][0]);
        if (version !== 1 && version !== 2) caller.failures.push(`unexpected answer ${text}`);
        caller.answers.set(version, (caller.answers.get(version) ?? 0) + 1);
        if (version === 2) caller.firstV2 ??= Date.now();
        if (version === 1 && caller.firstV2 !== undefined) caller.regressions++;
      } catch (e) {
        caller.failures.push(String(e));
      }
    }
  })();
  return { caller, done };
}

test(`${REPLICAS} serve replicas on one bucket converge within two poll intervals with no failed request`, async (t) => {
  await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(1, 0), 's3://models/fleet/m', { version: 1 }));
  const dir = await tempDir('replicas');
  const config = join(dir, 'models.config');
  await writeFile(config, 'model_config_list {\n  config {\n    name: "m"\n    base_path: "s3://models/fleet/m"\n    model_platform: "tensorflow"\n  }\n}\n');
  // TF Serving's variables, as a Kubernetes Secret and the Deployment's env would set them.
  const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME, ...s3.env('REPLICAKEY', 'replica-secret') };
  const started = await Promise.all(
    Array.from({ length: REPLICAS }, (_, i) =>
      startServeProcess(
        ['serve', `--model_config_file=${config}`, `--file_system_poll_wait_seconds=${POLL_SECONDS}`, `--model_store_dir=${join(dir, `store-${i}`)}`, '--rest_api_host=127.0.0.1', '--rest_api_port=0', '--backend=cpu'],
        { env },
      ),
    ),
  );
  replicas.push(...started);
  for (const r of replicas) assert.match(r.log(), /Model m \(s3:\/\/models\/fleet\/m\): serving version\(s\) 1/);

  // The callers stop when the test is done with them, and in any case after a minute.
  let stop = false;
  const deadline = Date.now() + 60_000;
  const loops = replicas.map((r) => callLoop(r.restPort, () => stop || Date.now() > deadline));
  let published = 0;
  try {
    await waitFor('every replica answering', async () => (loops.every((l) => (l.caller.answers.get(1) ?? 0) >= 3) ? true : undefined));
    await withAwsEnv(s3.env(), async () => publishGraphModel(await denseModel(2, 0), 's3://models/fleet/m', { version: 2 }));
    published = Date.now();
    await waitFor('every replica serving version 2', async () => (loops.every((l) => l.caller.firstV2 !== undefined) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 500)); // keep calling on version 2 for a while
  } finally {
    stop = true;
    await Promise.all(loops.map((l) => l.done));
  }

  const report = loops.map((l, i) => ({ replica: i, answers: Object.fromEntries(l.caller.answers), afterMs: (l.caller.firstV2 ?? Infinity) - published, failures: l.caller.failures.slice(0, 3), regressions: l.caller.regressions }));
  t.diagnostic(JSON.stringify(report));
  for (const r of report) {
    assert.deepEqual(r.failures, [], `replica ${r.replica}: ${JSON.stringify(report)}`);
    assert.equal(r.regressions, 0, `replica ${r.replica} answered version 1 after version 2: ${JSON.stringify(report)}`);
    assert.ok(r.afterMs <= 2 * POLL_SECONDS * 1000, `replica ${r.replica} served version 2 ${r.afterMs} ms after the publish (two poll intervals: ${2 * POLL_SECONDS * 1000} ms): ${JSON.stringify(report)}`);
  }
  for (const r of replicas) {
    const status = await (await fetch(`http://127.0.0.1:${r.restPort}/v1/models/m`)).json();
    assert.deepEqual(
      status.model_version_status.filter((s: { state: string }) => s.state === 'AVAILABLE').map((s: { version: string }) => s.version),
      ['2'],
    );
  }
  assert.ok(s3.refused.size === 0, `the gateway refused no replica request: ${JSON.stringify([...s3.refused])}`);
});
