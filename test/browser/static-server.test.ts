/** The harness's static server, from Node (no browser needed). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStaticServer } from './harness.js';
import type { StaticServer } from './harness.js';

let dir: string;
let server: StaticServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tfjs-serving-static-'));
  await mkdir(join(dir, 'sub'));
  for (const [name, body] of Object.entries({ 'a.js': 'export {}', 'm.wasm': '\0asm', 'model.json': '{}', 'index.html': '<p>', 'sub/w.bin': 'xx', 'other.xyz': '?' })) {
    await writeFile(join(dir, name), body);
  }
  server = await startStaticServer({ roots: [dir], mounts: { '/wasm/': join(dir, 'sub') }, routes: { '/hello': { body: 'hi', type: 'text/plain' } } });
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Raw GET, so that paths like `/../x` reach the server unnormalised. */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('static server: MIME types, Connection: close, no-store', async () => {
  const expected: Record<string, string> = {
    '/a.js': 'text/javascript; charset=utf-8',
    '/m.wasm': 'application/wasm',
    '/model.json': 'application/json; charset=utf-8',
    '/index.html': 'text/html; charset=utf-8',
    '/sub/w.bin': 'application/octet-stream',
    '/other.xyz': 'application/octet-stream',
  };
  for (const [path, type] of Object.entries(expected)) {
    const res = await get(path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers['content-type'], type, path);
    assert.equal(res.headers.connection, 'close', path);
    assert.equal(res.headers['cache-control'], 'no-store', path);
  }
  assert.equal((await get('/wasm/w.bin')).body, 'xx', 'mount prefix');
  assert.equal((await get('/hello')).body, 'hi', 'route');
  assert.equal((await get('/m.wasm', 'HEAD')).body, '');
});

test('static server: 404 for missing files, no escape from the served directory', async () => {
  assert.equal((await get('/nope.js')).status, 404);
  for (const path of ['/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/wasm/..%2f..%2fetc%2fpasswd']) {
    const res = await get(path);
    assert.ok(res.status === 403 || res.status === 404, `${path} → ${res.status}`);
    assert.doesNotMatch(res.body, /root:/);
  }
  assert.equal((await get('/a.js', 'POST')).status, 405);
});

test('static server: hooks run first and can inject faults; routes can be added later; requests are logged', async () => {
  const remove = server.hook((req, res) => {
    if (!req.url?.endsWith('.json')) return false;
    res.writeHead(503, { 'Content-Type': 'text/plain' });
    res.end('injected');
    return true;
  });
  assert.equal((await get('/model.json')).status, 503);
  assert.equal((await get('/a.js')).status, 200, 'other paths pass through');
  remove();
  assert.equal((await get('/model.json')).status, 200);
  server.route('/late', async (_req, res) => {
    res.writeHead(201, { 'Content-Type': 'text/plain' });
    res.end('late');
    return true;
  });
  const late = await get('/late');
  assert.equal(late.status, 201);
  assert.equal(late.body, 'late');
  assert.ok(server.requests.includes('GET /late'));
});

test('static server: cross-origin isolation headers when asked', async () => {
  const isolated = await startStaticServer({ roots: [dir], crossOriginIsolated: true });
  try {
    const res = await fetch(`${isolated.origin}/a.js`);
    assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
  } finally {
    await isolated.close();
  }
});
