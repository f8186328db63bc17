// `tfjs-serving serve` as a child process on a free port: a polled local directory (TF Serving's
// layout) picks up a new version directory, a broken one never replaces the good one, and SIGTERM
// shuts down gracefully while an in-flight request completes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServe } from '../helpers/serve-process.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
const IN = 'dense_dense1_input:0';

after(() => removeTempDirs());


async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('serve: polled directory picks up a new version, a broken one is kept out, SIGTERM finishes in-flight requests and exits 0', async () => {
  const base = join(await tempDir('serve'), 'm');
  await mkdir(base, { recursive: true });
  await cp(await denseModel(1, 0), join(base, '1'), { recursive: true });
  const { child, port, log, exited } = await startServe(['--model_name', 'm', '--model_base_path', base, '--file_system_poll_wait_seconds', '0.2']);
  const url = `http://127.0.0.1:${port}`;
  const predict = async (x: number) => {
    const r = await fetch(`${url}/v1/models/m:predict`, { method: 'POST', body: JSON.stringify({ instances: [[x]] }) });
    return (await r.json()) as { predictions: number[][] };
  };
  try {
    assert.deepEqual((await predict(3)).predictions, [[3]]);

    // A new version directory, written elsewhere and renamed in (or copied in place: a half-written
    // copy is retried on the next poll).
    const staged = join(base, '..', 'staging-2');
    await cp(await denseModel(2, 1), staged, { recursive: true });
    await rename(staged, join(base, '00000002'));
    await waitFor('version 2', async () => ((await predict(3)).predictions[0]![0] === denseExpected(2, 1, 3) ? true : undefined));
    const status = (await (await fetch(`${url}/v1/models/m`)).json()) as { model_version_status: Array<{ version: string; state: string }> };
    assert.deepEqual(status.model_version_status.map((s) => `${s.version}:${s.state}`), ['2:AVAILABLE', '1:END']);

    // A broken version 3 never replaces version 2; its error shows in status.
    await mkdir(join(base, '3'));
    await writeFile(join(base, '3', 'model.json'), '{"modelTopology": ');
    const broken = await waitFor('version 3 error', async () => {
      const s = (await (await fetch(`${url}/v1/models/m/versions/3`)).json()) as { model_version_status?: Array<{ state: string; status: { error_code: string; error_message: string } }> };
      return s.model_version_status?.[0];
    });
    assert.equal(broken.state, 'START');
    assert.equal(broken.status.error_code, 'INVALID_ARGUMENT');
    assert.match(broken.status.error_message, /model\.json is not valid JSON/);
    assert.equal((await predict(3)).predictions[0]![0], denseExpected(2, 1, 3));

    // SIGTERM while a request is in flight: its body is still arriving when the signal lands.
    const body = JSON.stringify({ instances: [[4]] });
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${url}/v1/models/m:predict`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(5)), 400);
      }, 300);
    });
    const answered = await inFlight;
    assert.equal(answered.status, 200, answered.text);
    assert.deepEqual(JSON.parse(answered.text), { predictions: [[denseExpected(2, 1, 4)]] });
    assert.equal(await exited, 0, log());
    assert.match(log(), /Received SIGTERM: finishing 1 in-flight request/);
    await assert.rejects(fetch(`${url}/v1/models/m`));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('serve: --model_config_file (TF Serving field names) and flag errors', async () => {
  const dir = await tempDir('serve-config');
  await cp(await denseModel(3, 0), join(dir, 'a', '7'), { recursive: true });
  const config = join(dir, 'models.json');
  await writeFile(config, JSON.stringify({ model_config_list: [{ name: 'a', base_path: join(dir, 'a'), model_platform: 'tfjs', version_labels: { stable: 7 } }] }));
  const { child, port, exited } = await startServe(['--model_config_file', config, '--rest_api_enable_cors_support']);
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v1/models/a/labels/stable:predict`, { method: 'POST', body: JSON.stringify({ inputs: { [IN]: [[2]] } }) });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await r.json(), { outputs: [[6]] });
  } finally {
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  }
  const bad = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--model_name', 'x', '--bogus_flag', '1'], { cwd: ROOT });
  let err = '';
  bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, /unknown flag --bogus_flag/);
});
