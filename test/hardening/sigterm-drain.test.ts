// SIGTERM loses nothing: a real `serve` child process with batching (requests wait 800 ms in the
// batch queue), requests queued in the batcher and requests still sending their body when SIGTERM
// lands are all answered 200 with the right value; readiness fails; the log counts them exactly;
// a new connection afterwards is refused; the process exits 0.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import { join } from 'node:path';
import { startServe } from '../helpers/serve-process.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';


after(() => removeTempDirs());


interface Pending {
  req: ClientRequest;
  rest: string;
  answer: Promise<{ status: number; text: string }>;
}

/** A predict whose body is sent but for its last `hold` bytes. */
function predictHolding(port: number, x: number, hold: number): Pending {
  const body = JSON.stringify({ instances: [[x]] });
  let req!: ClientRequest;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req = request({ host: '127.0.0.1', port, path: '/v1/models/m:predict', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
  });
  req.write(body.slice(0, body.length - hold));
  return { req, rest: body.slice(body.length - hold), answer };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('SIGTERM: queued and mid-body requests are all answered, readiness fails, the count is exact, exit 0', async () => {
  const dir = await tempDir('sigterm');
  const base = join(dir, 'm');
  await mkdir(base, { recursive: true });
  await cp(await denseModel(2, 1), join(base, '1'), { recursive: true });
  const params = join(dir, 'batching.json');
  await writeFile(params, JSON.stringify({ max_batch_size: 64, batch_timeout_micros: 800_000 }));
  const { child, port, log, exited } = await startServe(['--model_name', 'm', '--model_base_path', base, '--enable_batching', '--batching_parameters_file', params]);
  try {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    assert.equal(ready.status, 200);
    // Three requests complete (queued in the batcher for 800 ms), three still sending their body.
    const queued = [1, 2, 3].map((x) => predictHolding(port, x, 0));
    for (const q of queued) q.req.end();
    const midBody = [4, 5, 6].map((x) => predictHolding(port, x, 3));
    await sleep(200);
    child.kill('SIGTERM');
    // While draining: readiness fails (503, or the connection is refused once the listener closed).
    let probe: number | string = 200;
    for (let i = 0; i < 20 && probe === 200; i++) {
      await sleep(10);
      probe = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 'refused',
      );
    }
    assert.ok(probe === 503 || probe === 'refused', `readiness while draining: ${probe}`);
    // A probe answered 503 is a request answered during the drain too.
    const answeredProbes = probe === 503 ? 1 : 0;
    await sleep(300);
    for (const m of midBody) m.req.end(m.rest);
    const answers = await Promise.all([...queued, ...midBody].map((p) => p.answer));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(JSON.parse(a.text), { predictions: [[denseExpected(2, 1, i + 1)]] });
    });
    assert.equal(await exited, 0, log());
    // The three mid-body requests are in flight for sure; the three sent whole may already be answered
    // (a lone request runs at once when nothing is in flight). Whatever was in flight is counted exactly.
    const finishing = Number(/Received SIGTERM: finishing (\d+) in-flight request\(s\)/.exec(log())?.[1] ?? NaN);
    assert.ok(finishing >= 3 && finishing <= 7, log());
    assert.match(log(), new RegExp(`Answered ${finishing + answeredProbes} request\\(s\\) after SIGTERM; server shut down`));
    await assert.rejects(fetch(`http://127.0.0.1:${port}/v1/models/m`));
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('SIGTERM while the event loop is busy: connections waiting in the accept queue are answered too', async () => {
  const base = join(await tempDir('sigterm-backlog'), 'm');
  await mkdir(base, { recursive: true });
  await cp(await denseModel(2, 1), join(base, '1'), { recursive: true });
  const { child, port, log, exited } = await startServe(['--model_name', 'm', '--model_base_path', base]);
  try {
    // A heavy request (a 300k-row batch) keeps the server's loop busy parsing and computing ...
    const heavy = fetch(`http://127.0.0.1:${port}/v1/models/m:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: Array.from({ length: 300_000 }, (_, i) => [i % 7]) }),
    }).then(async (r) => ({ status: r.status, n: ((await r.json()) as { predictions: unknown[] }).predictions.length }));
    await sleep(150);
    // ... while 20 small requests connect and send (they wait in the kernel's accept queue), then SIGTERM.
    const small = Array.from({ length: 20 }, (_, i) => predictHolding(port, i, 0));
    for (const s of small) s.req.end();
    await sleep(20);
    child.kill('SIGTERM');
    const answers = await Promise.all(small.map((s) => s.answer));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200, a.text);
      assert.deepEqual(JSON.parse(a.text), { predictions: [[denseExpected(2, 1, i)]] });
    });
    assert.deepEqual(await heavy, { status: 200, n: 300_000 });
    assert.equal(await exited, 0, log());
    const m = /Answered (\d+) request\(s\) after SIGTERM/.exec(log());
    assert.ok(m, log());
    // The 20 waited in the accept queue while the heavy one ran: all 20 (and the heavy one, when it
    // was still running as the signal was handled) are answered after SIGTERM.
    assert.ok(Number(m[1]) === 20 || Number(m[1]) === 21, log());
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
