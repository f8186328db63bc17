// Pins the public export lists of `tfjs-serving`, `tfjs-serving/node` and the browser bundle: adding or
// removing a public name is a decision, made here on purpose. Internals stay internal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

const MAIN_VALUES = [
  'AspiredVersionsManager', 'DEFAULT_BATCHING_PARAMETERS', 'DEFAULT_PROMETHEUS_PATH', 'DownloadProgressEvent', 'HttpSource',
  'IndexedDbModelStore', 'LocalModelServer', 'METRIC_NAMES', 'MemoryModelStore', 'ModelServer', 'ServableStateMonitor',
  'ServingError', 'SourceErrorEvent', 'LoadFailureEvent', 'TfjsModelLoader', 'TotalProgressEvent', 'VersionStateEvent', 'WorkerModelServer', 'WorkerRestartEvent',
  'availabilityPreservingPolicy', 'handleRestRequest', 'httpStatusOf', 'registerSourceFactory', 'resourcePreservingPolicy',
  'setWorkerModelServerFactory',
];
const NODE_VALUES = [...MAIN_VALUES, 'FileSystemModelStore', 'FileSystemSource', 'isLocalDirectoryBasePath', 'publishGraphModel', 'generateSigningKey', 'readVersionDirectory', 'startRestServer', 'startServe', 'startGrpcServer',
  'parseModelServerConfigText', 'modelConfigsFromProto', 'parseBatchingParametersText', 'parseMonitoringConfigText'].sort();
const BROWSER_VALUES = [
  'DownloadProgressEvent', 'LoadFailureEvent', 'ModelServer', 'ServingError', 'SourceErrorEvent', 'TotalProgressEvent', 'VersionStateEvent', 'WorkerRestartEvent',
  'answerServiceWorkerRequests', 'handleRestRequest', 'registerRestServiceWorker',
];
/** Names that are implementation details: never public. */
const INTERNAL = [
  'BatchScheduler', 'BatchingSession', 'BatchingServable', 'BatchingLoader', 'Batch', 'TaskPiece', 'BatchingMetricsSink',
  'MetricsRegistry', 'Counter', 'Gauge', 'Histogram', 'exponentialBuckets', 'sanitizeMetricName', 'toPrometheusText', 'ServingMetrics',
  'ServerCore', 'PredictionService', 'ProgressTracker', 'ServerEventTarget', 'LoaderHarness', 'WorkerSupervisor', 'WorkerHost', 'encodeEvent', 'decodeEvent', 'parseTextFormat',
  'FreshWorkerSwap', 'SwapLedger', 'SwapGate', 'gatedSourceFactory', 'checkSwapMode',
];
/** Every event the servers fire, and the data of each (their types must be public). */
const EVENTS = ['VersionStateEvent', 'DownloadProgressEvent', 'TotalProgressEvent', 'SourceErrorEvent', 'LoadFailureEvent', 'WorkerRestartEvent'];
const EVENT_TYPES = [
  'VersionStateEventInit', 'DownloadProgressEventInit', 'TotalProgressEventInit', 'SourceErrorEventInit', 'LoadFailureEventInit', 'ServerEventListeners', 'ServerEventType',
  'ServerEventListener', 'ModelServerEventMap', 'ProgressPhase',
];

/** Names an entry exports as types only (`export type { A, B as C } from …`), read from its source. */
function typeExports(entry: string): string[] {
  const text = readFileSync(join(root, 'src', entry), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const part of (m[1] ?? '').split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop()?.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

test('tfjs-serving exports exactly the pinned values', async () => {
  const names = Object.keys(await import('../../src/index.js')).sort();
  assert.deepEqual(names, [...MAIN_VALUES].sort());
});

test('tfjs-serving/node exports the main entry and the Node parts, nothing else', async () => {
  const names = Object.keys(await import('../../src/node.js')).sort();
  assert.deepEqual(names, NODE_VALUES);
});

test('the browser bundle exports exactly the pinned page-side values', () => {
  const bundle = join(root, 'dist', 'browser', 'tfjs-serving.js');
  assert.ok(existsSync(bundle), `${bundle} is missing: npm test builds it first (npm run build)`);
  const clause = /export\s*\{([^}]*)\}\s*;?\s*(?:\/\/# sourceMappingURL=.*)?\s*$/.exec(readFileSync(bundle, 'utf8'));
  assert.ok(clause, 'the bundle ends with one export clause');
  const names = (clause[1] ?? '').split(',').map((p) => p.trim().split(/\s+as\s+/).pop()?.trim() ?? '').filter(Boolean).sort();
  assert.deepEqual(names, BROWSER_VALUES);
});

test('internals are not exported by any entry', async () => {
  const everything = new Set([
    ...Object.keys(await import('../../src/node.js')),
    ...typeExports('index.ts'),
    ...typeExports('node.ts'),
    ...typeExports('browser.ts'),
  ]);
  assert.deepEqual(INTERNAL.filter((n) => everything.has(n)), []);
});

test('every public event class and its data type is exported (page and Node)', async () => {
  const main = new Set([...Object.keys(await import('../../src/index.js')), ...typeExports('index.ts')]);
  const page = new Set([...BROWSER_VALUES, ...typeExports('browser.ts')]);
  for (const name of [...EVENTS, ...EVENT_TYPES]) {
    assert.ok(main.has(name), `tfjs-serving does not export ${name}`);
    assert.ok(page.has(name), `the browser bundle does not export ${name}`);
  }
});
