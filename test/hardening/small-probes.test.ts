// Small hostile probes against a real `serve` child process on 127.0.0.1: TRACE/TRACK/CONNECT and
// other unknown methods get the same 400 "Malformed request" (or 404 off /v1/) as any unknown method,
// never 500; numbers that overflow a double (1e400) are refused like TF Serving's rapidjson while the
// bare NaN/Infinity tokens are still read; latest.num_versions <= 0 is INVALID_ARGUMENT.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalModelServer } from '../../src/node.js';
import { denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..', '..');
const BIN = join(ROOT, 'src', 'cli', 'bin.ts');

after(() => removeTempDirs());

function startServe(args: string[]): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--rest_api_port', '0', '--rest_api_host', '127.0.0.1', '--backend', 'cpu', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Exporting HTTP\/REST API at:[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), exited });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
}

function raw(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: body === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('unknown methods (TRACE, TRACK, FOO, PUT, DELETE, PATCH) → 400 Malformed request under /v1/, 404 elsewhere; 1e400 refused; NaN read', async () => {
  const base = join(await tempDir('probes'), 'm');
  await mkdir(base, { recursive: true });
  await cp(await denseModel(2, 0), join(base, '1'), { recursive: true });
  const { child, port, exited } = await startServe(['--model_name', 'm', '--model_base_path', base]);
  try {
    // Methods Node's parser does not know at all: still a JSON 400, not an empty one.
    for (const method of ['TRACK', 'FOO']) {
      const r = await raw(port, method, '/v1/models/m');
      assert.equal(r.status, 400, `${method}: ${r.text}`);
      assert.match(JSON.parse(r.text).error, /^Malformed request: the HTTP request could not be parsed \(HPE_INVALID_METHOD\)$/);
    }
    for (const method of ['TRACE', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw(port, method, '/v1/models/m');
      assert.equal(r.status, 400, `${method}: ${r.text}`);
      assert.deepEqual(JSON.parse(r.text), { error: `Malformed request: ${method} /v1/models/m` });
      const off = await raw(port, method, '/elsewhere');
      assert.equal(off.status, 404, `${method} /elsewhere: ${off.text}`);
      assert.deepEqual(JSON.parse(off.text), { error: `Not Found: no handler for ${method} /elsewhere` });
    }
    const big = await raw(port, 'POST', '/v1/models/m:predict', '{"instances": [[1e400]]}');
    assert.equal(big.status, 400, big.text);
    assert.deepEqual(JSON.parse(big.text), { error: 'JSON Parse error: Number too big to be stored in double. at offset: 16' });
    const neg = await raw(port, 'POST', '/v1/models/m:predict', '{"inputs": {"dense_dense1_input:0": [[-1E+309]]}}');
    assert.equal(neg.status, 400, neg.text);
    assert.match(JSON.parse(neg.text).error, /Number too big to be stored in double\. at offset: 38/);
    // The bare tokens stay accepted, as with rapidjson's kParseNanAndInfFlag; 1e-400 underflows to 0.
    const nan = await raw(port, 'POST', '/v1/models/m:predict', '{"instances": [[NaN], [-Infinity], [1e-400]]}');
    assert.equal(nan.status, 200, nan.text);
    assert.equal(nan.text.replace(/\s+/g, ''), '{"predictions":[[NaN],[-Infinity],[0.0]]}');
    // CONNECT (a proxy tunnel request) is refused the same way, not dropped.
    const connect = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'CONNECT', path: '/v1/models/m' });
      req.on('connect', (res, socket) => {
        let text = '';
        socket.on('data', (d: Buffer) => (text += d.toString()));
        socket.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(connect.status, 400, connect.text);
    // Still serving.
    assert.equal((await raw(port, 'GET', '/v1/models/m')).status, 200);
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('latest.num_versions <= 0 is INVALID_ARGUMENT: in a model config file (serve exits 1 naming it) and in ModelServerOptions', async () => {
  const dir = await tempDir('num-versions');
  await cp(await denseModel(1, 0), join(dir, 'a', '1'), { recursive: true });
  for (const n of [0, -2]) {
    const config = join(dir, `models${n}.json`);
    await writeFile(config, JSON.stringify({ model_config_list: [{ name: 'a', base_path: join(dir, 'a'), model_version_policy: { latest: { num_versions: n } } }] }));
    const bad = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--rest_api_port', '0', '--model_config_file', config, '--backend', 'cpu'], { cwd: ROOT });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
    assert.equal(code, 1, err);
    assert.match(err, new RegExp(`modelVersionPolicy of model "a": latest.numVersions must be an integer >= 1 \\(omit it for the default 1\\), got ${n}`));
  }
  await assert.rejects(
    LocalModelServer.start({ modelConfigList: [{ name: 'a', basePath: join(dir, 'a'), modelVersionPolicy: { latest: { numVersions: 0 } } }], pollIntervalMs: 0, backends: ['cpu'] }),
    (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /latest\.numVersions must be an integer >= 1/.test(e.message),
  );
});
