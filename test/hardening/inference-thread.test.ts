// `serve` runs the models in a worker thread: while a heavy predict computes (a real model, emotion,
// on a large batch), status, Prometheus metrics and the readiness probe answer at once, and a request
// past --rest_api_timeout_in_ms is answered DEADLINE_EXCEEDED at its deadline, not when the model is done.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { startServe } from '../helpers/serve-process.js';
import type { ServeProcess } from '../helpers/serve-process.js';

after(() => removeTempDirs());

/** emotion (`@vladmandic/human`, MIT) as version 1 of a TF Serving base path. */
async function emotionBasePath(): Promise<string> {
  const base = join(await tempDir('emotion'), 'emotion');
  await mkdir(join(base, '1'), { recursive: true });
  await cp(humanModel('emotion'), join(base, '1', 'model.json'));
  await cp(humanModel('emotion').replace(/\.json$/, '.bin'), join(base, '1', 'emotion.bin'));
  return base;
}

interface Answer {
  readonly status: number;
  readonly text: string;
  /** When the answer was complete (Date.now()). */
  readonly at: number;
}

function http(port: number, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), at: Date.now() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A predict body of `n` 64×64×1 images (TF Serving's row format). */
function images(n: number): string {
  const row = JSON.stringify(Array.from({ length: 64 }, (_, y) => Array.from({ length: 64 }, (_, x) => [((x + y) % 17) / 17])));
  return `{"instances": [${Array.from({ length: n }, () => row).join(',')}]}`;
}

const HEAVY = 16; // images: seconds on the cpu backend
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(serve: ServeProcess): Promise<void> {
  serve.child.kill('SIGTERM');
  await serve.exited;
}

test('while a heavy predict computes, status, metrics and /readyz answer before it; past its deadline a request is DEADLINE_EXCEEDED at once', async () => {
  const base = await emotionBasePath();
  // Two servers: one with the default timeout (30 s), one whose requests have 1 s.
  const [free, timed] = await Promise.all([
    startServe(['--model_name', 'emotion', '--model_base_path', base]),
    startServe(['--model_name', 'emotion', '--model_base_path', base, '--rest_api_timeout_in_ms', '1000']),
  ]);
  try {
    const small = await http(free.port, 'POST', '/v1/models/emotion:predict', images(1));
    assert.equal(small.status, 200, small.text);
    assert.equal(JSON.parse(small.text).predictions.length, 1);

    // 1. Probes during a heavy predict.
    const started = Date.now();
    const heavy = http(free.port, 'POST', '/v1/models/emotion:predict', images(HEAVY));
    await sleep(300); // the body is read and the worker computing
    const status = await http(free.port, 'GET', '/v1/models/emotion');
    const metrics = await http(free.port, 'GET', '/monitoring/prometheus/metrics');
    const ready = await http(free.port, 'GET', '/readyz');
    const done = await heavy;
    const heavyMs = done.at - started;
    assert.equal(done.status, 200, done.text);
    assert.equal(JSON.parse(done.text).predictions.length, HEAVY);
    assert.equal(status.status, 200, status.text);
    assert.equal(JSON.parse(status.text).model_version_status[0].state, 'AVAILABLE');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /:tensorflow:serving:request_count\{model_name="emotion",status="OK"\} 1/);
    assert.equal(ready.status, 200);
    for (const [name, a] of [['status', status], ['metrics', metrics], ['readyz', ready]] as const) {
      assert.ok(a.at < done.at, `${name} answered ${done.at - a.at} ms before the heavy predict (it must not wait for it; heavy took ${heavyMs} ms)`);
    }

    // 2. Deadlines: the heavy one and a small one queued behind it are both answered at their 1 s deadline.
    const t0 = Date.now();
    const late = http(timed.port, 'POST', '/v1/models/emotion:predict', images(HEAVY));
    await sleep(300);
    const queued = await http(timed.port, 'POST', '/v1/models/emotion:predict', images(1));
    const lateAnswer = await late;
    for (const [name, a] of [['heavy', lateAnswer], ['queued', queued]] as const) {
      assert.equal(a.status, 504, `${name}: ${a.text}`);
      assert.match(JSON.parse(a.text).error, /[Dd]eadline/, name);
    }
    // Answered at the deadline, long before the model could have finished (it took heavyMs above).
    assert.ok(lateAnswer.at - t0 < heavyMs, `the deadline answer took ${lateAnswer.at - t0} ms; the computation takes ${heavyMs} ms`);
    // The server goes on: once the worker is free, a small request within its deadline is answered.
    let again: Answer | undefined;
    for (let i = 0; i < 40; i++) {
      again = await http(timed.port, 'POST', '/v1/models/emotion:predict', images(1));
      if (again.status === 200) break;
      await sleep(250);
    }
    assert.equal(again?.status, 200, again?.text);
  } finally {
    await Promise.all([stop(free), stop(timed)]);
  }
});
