// The layering rules of README's Layout section, checked on the real import graph: a new import that
// breaks one fails here, naming the file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImportEdge } from './import-graph.js';
import { importCycles, importEdges, layerOf, sourceFiles } from './import-graph.js';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
const files = sourceFiles(root, ['src', 'worker', 'converter']);
const edges = importEdges(root, files);

function violations(rule: (e: ImportEdge) => boolean): string[] {
  return edges.filter(rule).map((e) => `${e.from}:${e.line} imports ${e.to}${e.typeOnly ? ' (type)' : ''}`);
}

const from = (layer: string) => (e: ImportEdge) => layerOf(e.from) === layer;
const to = (...layers: string[]) => (e: ImportEdge) => layers.includes(layerOf(e.to));

test('the import graph is read: every layer has files and edges', () => {
  for (const layer of ['core', 'storage', 'runtime', 'batching', 'sources', 'repository', 'server', 'rest', 'worker-client', 'worker', 'converter']) {
    assert.ok(files.some((f) => layerOf(f) === layer), `no files in layer ${layer}`);
  }
  assert.ok(edges.length > 100, `only ${edges.length} edges found`);
  assert.ok(edges.some((e) => e.typeOnly) && edges.some((e) => !e.typeOnly));
});

test('core imports nothing outside core', () => {
  assert.deepEqual(violations((e) => from('core')(e) && !to('core')(e)), []);
});

test('storage imports only core', () => {
  assert.deepEqual(violations((e) => from('storage')(e) && !to('core', 'storage')(e)), []);
});

test('runtime never imports batching, sources, server, rest or the worker sides', () => {
  assert.deepEqual(violations((e) => from('runtime')(e) && to('batching', 'sources', 'server', 'rest', 'worker', 'worker-client')(e)), []);
});

test('sources never import runtime', () => {
  assert.deepEqual(violations((e) => from('sources')(e) && to('runtime')(e)), []);
});

test('server never imports worker/ (nor the page-side worker client: it registers itself)', () => {
  assert.deepEqual(violations((e) => from('server')(e) && to('worker', 'worker-client')(e)), []);
});

test('rest imports only core, runtime types and the ModelServer interface', () => {
  const allowed = (e: ImportEdge) =>
    to('core', 'rest')(e) ||
    (to('runtime')(e) && e.typeOnly) ||
    (e.typeOnly && (e.to === 'src/server/model-server.ts' || e.to === 'src/server/api-types.ts'));
  assert.deepEqual(violations((e) => from('rest')(e) && !allowed(e)), []);
});

test('gRPC, like REST, talks only to the ModelServer interface (and shares REST\'s request helpers)', () => {
  const allowed = (e: ImportEdge) =>
    to('core', 'grpc', 'rest', 'config')(e) ||
    (to('runtime')(e) && (e.typeOnly || e.to === 'src/runtime/dtypes.ts')) ||
    (e.typeOnly && e.to.startsWith('src/server/'));
  assert.deepEqual(violations((e) => from('grpc')(e) && !allowed(e)), []);
});

test('config files are read into option types: config imports only core, config and option types', () => {
  const allowed = (e: ImportEdge) => to('core', 'config')(e) || (e.typeOnly && to('server', 'batching')(e));
  assert.deepEqual(violations((e) => from('config')(e) && !allowed(e)), []);
});

test('the repository module reads versions for sources and publish; it imports only core, storage and the converter', () => {
  assert.deepEqual(violations((e) => from('repository')(e) && !to('core', 'storage', 'repository', 'converter')(e)), []);
});

test('the converter does not import the serving library', () => {
  assert.deepEqual(violations((e) => from('converter')(e) && e.to.startsWith('src/')), []);
});

test('no import cycles anywhere (import type counts)', () => {
  assert.deepEqual(importCycles(edges).map((c) => c.join(' → ')), []);
});

test('the cycle finder finds a cycle when there is one (self-check)', () => {
  const fake: ImportEdge[] = [
    { from: 'a.ts', to: 'b.ts', typeOnly: true, line: 1 },
    { from: 'b.ts', to: 'a.ts', typeOnly: false, line: 1 },
  ];
  assert.deepEqual(importCycles(fake), [['a.ts', 'b.ts', 'a.ts']]);
});
