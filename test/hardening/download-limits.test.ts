// Downloads are read with a size limit after decompression, over real HTTP on 127.0.0.1: a weight
// file and a manifest.json served as gzip bombs (Content-Encoding: gzip, 512 MiB of zeros) fail
// DATA_LOSS / RESOURCE_EXHAUSTED without holding the bomb; a first-poll 304 (no manifest read yet)
// is asked again without If-None-Match and, from a server that keeps answering 304, is an error,
// never a crash; version 1 keeps serving throughout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalModelServer } from '../../src/node.js';
import { FileSystemModelStore } from '../../src/storage/file-system-model-store.js';
import { MAX_MANIFEST_BYTES } from '../../src/sources/download.js';
import { changedWeightFile, harness, predictDense } from '../helpers/serving.js';
import type { Harness } from '../helpers/serving.js';
import { tempDir } from '../helpers/models.js';

const MiB = 1024 * 1024;
let bomb: Buffer;

before(() => {
  // 512 MiB of zeros compress to about 0.5 MiB.
  bomb = gzipSync(Buffer.alloc(512 * MiB), { level: 9 });
});

type Behaviour = 'file' | 'bomb' | '304';

/** A static server over `root` where a path can be made a gzip bomb or an endless 304. */
async function frontServer(root: string): Promise<{ url: string; set(path: string, b: Behaviour): void; seen: Array<{ path: string; ifNoneMatch?: string }>; close(): Promise<void> }> {
  const behaviours = new Map<string, Behaviour>();
  const seen: Array<{ path: string; ifNoneMatch?: string }> = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    seen.push({ path, ifNoneMatch: req.headers['if-none-match'] });
    res.setHeader('Connection', 'close');
    const b = behaviours.get(path) ?? 'file';
    if (b === '304') return void res.writeHead(304, { ETag: '"x"' }).end();
    if (b === 'bomb') return void res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip', 'Content-Length': bomb.length }).end(bomb);
    readFile(join(root, path)).then(
      (body) => res.writeHead(200, { 'Content-Length': body.length, ETag: `"${body.length}"` }).end(body),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (path, b) => behaviours.set(path, b),
    seen,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

let h: Harness;
after(() => h?.close());

async function startOn(url: string): Promise<LocalModelServer> {
  return LocalModelServer.start({
    modelConfigList: [{ name: 'm', basePath: `${url}/m/` }],
    store: new FileSystemModelStore(await tempDir('dl-store')),
    pollIntervalMs: 0,
    backends: ['cpu'],
    loadRetryIntervalMs: 10,
    maxNumLoadRetries: 1,
  });
}

test('a gzip-bomb weight file stops at the size the manifest lists (DATA_LOSS); memory stays bounded; v1 serves', async () => {
  h = await harness();
  await h.publishDense('m', 1);
  const front = await frontServer(h.repoDir);
  const server = await startOn(front.url);
  try {
    assert.equal((await predictDense(server, 1)).model.version, 1);
    await h.publishDense('m', 2);
    const shard = await changedWeightFile(h.repoDir, 'm', 1, 2);
    front.set(`/m/2/${shard}`, 'bomb');
    const rssBefore = process.memoryUsage().rss;
    await server.pollNow();
    const grew = process.memoryUsage().rss - rssBefore;
    const source = await server.sourceState('m');
    assert.equal(source.lastError?.code, 'DATA_LOSS', JSON.stringify(source.lastError));
    assert.match(source.lastError!.message, /body is longer than the \d+ bytes the manifest lists for \S+\.bin/);
    assert.ok(grew < 256 * MiB, `RSS grew ${Math.round(grew / MiB)} MiB reading a 512 MiB bomb`);
    assert.equal((await predictDense(server, 1)).model.version, 1);
  } finally {
    await server.close();
    await front.close();
  }
});

test(`a gzip-bomb manifest.json stops at ${MAX_MANIFEST_BYTES / MiB} MiB (RESOURCE_EXHAUSTED); memory stays bounded; v1 serves`, async () => {
  const front = await frontServer(h.repoDir);
  const server = await startOn(front.url);
  try {
    assert.equal((await predictDense(server, 1)).model.version, 2);
    front.set('/m/manifest.json', 'bomb');
    const rssBefore = process.memoryUsage().rss;
    await server.pollNow();
    const grew = process.memoryUsage().rss - rssBefore;
    const source = await server.sourceState('m');
    assert.equal(source.lastError?.code, 'RESOURCE_EXHAUSTED', JSON.stringify(source.lastError));
    assert.match(source.lastError!.message, /manifest\.json: the body \(after decompression\) is larger than the limit of 16777216 bytes/);
    assert.ok(grew < 256 * MiB, `RSS grew ${Math.round(grew / MiB)} MiB reading a 512 MiB bomb`);
    assert.equal((await predictDense(server, 1)).model.version, 2);
  } finally {
    await server.close();
    await front.close();
  }
});

test('a first-poll 304 (no manifest read yet) is asked again without If-None-Match; endless 304s are an error, not a crash', async () => {
  const front = await frontServer(h.repoDir);
  front.set('/m/manifest.json', '304');
  const server = await startOn(front.url);
  try {
    const source = await server.sourceState('m');
    assert.equal(source.lastError?.code, 'UNAVAILABLE', JSON.stringify(source.lastError));
    assert.match(source.lastError!.message, /returned HTTP 304 Not Modified, but no manifest has been read yet/);
    const manifestGets = front.seen.filter((s) => s.path === '/m/manifest.json');
    assert.equal(manifestGets.length, 2);
    assert.ok(manifestGets.every((s) => s.ifNoneMatch === undefined));
    // The server answers normally again: the next poll reads the manifest and serves.
    front.set('/m/manifest.json', 'file');
    await server.pollNow();
    assert.equal((await server.sourceState('m')).lastError, undefined);
    assert.equal((await predictDense(server, 1)).model.version, 2);
  } finally {
    await server.close();
    await front.close();
  }
});
