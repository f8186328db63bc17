// A version with a broken warmup.json under policy `all` (TF Serving's default retries: 5, a minute
// apart): `serve` logs every failed attempt with the version and the reason, and opens its REST port
// once each version's first attempt ended, serving the good version meanwhile — not after 5 minutes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DENSE_BIAS, DENSE_KERNEL, DENSE_MODEL_DIR, denseExpected, removeTempDirs, tempDir } from '../helpers/models.js';
import { startServe } from '../helpers/serve-process.js';
import type { ServeProcess } from '../helpers/serve-process.js';

after(() => removeTempDirs());

/** Version 1 good, version 2 the same model with a warmup.json that is not JSON; policy all. */
async function repository(): Promise<string> {
  const root = await tempDir('retry');
  const base = join(root, 'm');
  for (const v of ['1', '2']) {
    await mkdir(join(base, v), { recursive: true });
    await cp(DENSE_MODEL_DIR, join(base, v), { recursive: true });
  }
  await writeFile(join(base, '2', 'warmup.json'), '{"requests": [ {"inputs": ');
  const config = join(root, 'models.json');
  await writeFile(config, JSON.stringify({ model_config_list: [{ name: 'm', base_path: base, model_version_policy: { all: {} } }] }));
  return config;
}

async function getJson(port: number, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

async function stop(serve: ServeProcess): Promise<number | null> {
  serve.child.kill('SIGTERM');
  return serve.exited;
}

const FAILED = /Model m version 2: load attempt (\d+) failed: INVALID_ARGUMENT: [^\n]*warmup\.json is not valid JSON[^\n]*; ([^\n]+)\n/g;

test('a broken warmup.json under policy all: each failed attempt is logged; the port opens after the first attempt, not after the retries', async () => {
  const config = await repository();
  const [slow, quick] = await Promise.all([
    // TF Serving's defaults: 5 retries, 60 s apart. Before, the port opened after 5 minutes, silently.
    startServe(['--model_config_file', config]),
    // Retries 200 ms apart, 2 of them: all three attempts are logged, then the version is END.
    startServe(['--model_config_file', config, '--max_num_load_retries', '2', '--load_retry_interval_micros', '200000']),
  ]);
  try {
    const attempts = [...slow.log().matchAll(FAILED)];
    assert.equal(attempts.length, 1, slow.log());
    assert.equal(attempts[0]?.[1], '1');
    assert.equal(attempts[0]?.[2], 'retrying in 60 s (5 retries left)');
    const status = await getJson(slow.port, '/v1/models/m');
    assert.equal(status.status, 200);
    assert.deepEqual(
      status.json.model_version_status.map((s: { version: string; state: string }) => [s.version, s.state]),
      [['2', 'LOADING'], ['1', 'AVAILABLE']],
    );
    const predict = await getJson(slow.port, '/v1/models/m/versions/1:predict', { instances: [[3]] });
    assert.equal(predict.status, 200, JSON.stringify(predict.json));
    assert.ok(Math.abs(predict.json.predictions[0][0] - denseExpected(DENSE_KERNEL, DENSE_BIAS, 3)) < 1e-5);

    // The quick one: every retry is logged with what follows it; the version ends with the reason.
    let ended: any;
    for (let i = 0; i < 100; i++) {
      ended = (await getJson(quick.port, '/v1/models/m/versions/2')).json;
      if (ended.model_version_status?.[0]?.state === 'END') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ended.model_version_status[0].state, 'END', JSON.stringify(ended));
    assert.equal(ended.model_version_status[0].status.error_code, 'INVALID_ARGUMENT');
    assert.match(ended.model_version_status[0].status.error_message, /warmup\.json is not valid JSON/);
    const quickAttempts = [...quick.log().matchAll(FAILED)].map((m) => [m[1], m[2]]);
    assert.deepEqual(quickAttempts, [
      ['1', 'retrying in 0.2 s (2 retries left)'],
      ['2', 'retrying in 0.2 s (1 retry left)'],
      ['3', 'no retries left: the version is not served'],
    ]);
  } finally {
    assert.equal(await stop(slow), 0, slow.log());
    assert.equal(await stop(quick), 0, quick.log());
  }
});
