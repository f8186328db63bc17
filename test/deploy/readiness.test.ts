// /readyz is Kubernetes' readiness in TF Serving's terms: 200 only when every configured model has an
// AVAILABLE version, 503 naming each model that has none; /livez answers while the process serves.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTempDirs, tempDir } from '../helpers/models.js';
import { ROOT, startServe } from '../helpers/serve-process.js';

const HALF_PLUS_TWO = join(ROOT, 'test', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

after(() => removeTempDirs());

async function waitForStatus(url: string, status: number, timeoutMs = 30_000): Promise<{ status: number; body: Record<string, unknown> }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fetch(url);
    const body = (await r.json()) as Record<string, unknown>;
    if (r.status === status || Date.now() > end) return { status: r.status, body };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('/readyz waits for every configured model; /livez answers meanwhile', async () => {
  const root = await tempDir('readiness');
  await cp(HALF_PLUS_TWO, join(root, 'first', '123'), { recursive: true });
  await mkdir(join(root, 'second'), { recursive: true });
  const config = join(root, 'models.config');
  await writeFile(
    config,
    `model_config_list {
  config { name: "first" base_path: "${join(root, 'first')}" model_platform: "tensorflow" }
  config { name: "second" base_path: "${join(root, 'second')}" model_platform: "tensorflow" }
}
`,
  );
  const serve = await startServe(['--model_config_file', config, '--file_system_poll_wait_seconds', '1']);
  const base = `http://127.0.0.1:${serve.port}`;
  try {
    // One model serves, the other has no version yet: not ready, and the answer says which and why.
    const first = await fetch(`${base}/readyz`);
    assert.equal(first.status, 503);
    const body = (await first.json()) as { ready: boolean; error: string; models: Record<string, string> };
    assert.equal(body.ready, false);
    assert.deepEqual(Object.keys(body.models), ['second']);
    assert.match(body.error, /model "second" has no AVAILABLE version/);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    const predict = await fetch(`${base}/v1/models/first:predict`, { method: 'POST', body: '{"instances":[2.0]}' });
    assert.deepEqual(await predict.json(), { predictions: [3.0] }, 'the model that is AVAILABLE serves meanwhile');
    const live = await fetch(`${base}/livez`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { alive: true });

    // The second model's first version appears: ready once it is AVAILABLE.
    await cp(HALF_PLUS_TWO, join(root, 'second', '7'), { recursive: true });
    const ready = await waitForStatus(`${base}/readyz`, 200);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.deepEqual(ready.body, { ready: true, models: ['first', 'second'] });
  } finally {
    serve.child.kill('SIGTERM');
    assert.equal(await serve.exited, 0, serve.log());
  }
});
