// The AWS SDK is for Node's S3 source and S3 publish only: imported by the s3-* files of src/repository
// and src/sources alone, and never reachable from the browser entries (src/index.ts, src/browser.ts,
// worker/ but its Node entries) — not even through a dynamic import — so the browser bundle never carries it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importEdges, sourceFiles } from './import-graph.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const files = sourceFiles(root, ['src', 'worker', 'converter']);
const edges = importEdges(root, files);
const AWS = /(?:from\s+|import\(\s*)['"]@aws-sdk\//;
const importers = files.filter((f) => AWS.test(readFileSync(join(root, f), 'utf8')));

test('only the s3-* files of src/repository and src/sources import the AWS SDK', () => {
  assert.ok(importers.length >= 3, `expected the S3 files to import the SDK, found ${importers.join(', ')}`);
  assert.deepEqual(importers.filter((f) => !/^src\/(repository|sources)\/s3-[a-z-]+\.ts$/.test(f)), []);
});

test('no file that imports the AWS SDK is reachable from the browser entries', () => {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  // worker/node-*.ts are Node's worker_threads entries (serve's inference thread), never bundled for browsers.
  const entries = ['src/index.ts', 'src/browser.ts', ...files.filter((f) => f.startsWith('worker/') && !f.startsWith('worker/node-'))];
  const seen = new Set<string>();
  const path = new Map<string, string>();
  const stack = [...entries];
  for (const e of entries) seen.add(e);
  while (stack.length) {
    const f = stack.pop() ?? '';
    for (const to of next.get(f) ?? []) {
      if (seen.has(to)) continue;
      seen.add(to);
      path.set(to, f);
      stack.push(to);
    }
  }
  const chain = (f: string): string => (path.has(f) ? `${chain(path.get(f) ?? '')} → ${f}` : f);
  assert.deepEqual(importers.filter((f) => seen.has(f)).map(chain), []);
  assert.ok(seen.has('src/sources/http-source.ts'), 'self-check: the walk reaches the HttpSource');
});
