// Summing the metrics of several servers (inference workers): pure logic over real registries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, toPrometheusText } from '../../src/metrics/metrics-registry.js';
import { mergeSnapshots } from '../../src/metrics/merge-snapshots.js';

function server(requests: number, latencies: number[], memory: number) {
  const r = new MetricsRegistry();
  const count = r.counter('/c', 'requests', ['model_name', 'status']);
  const latency = r.histogram('/h', 'latency', ['model_name'], [10, 100]);
  const gauge = r.gauge('/g', 'memory', ['model_name']);
  for (let i = 0; i < requests; i++) count.increment({ model_name: 'm', status: 'OK' });
  for (const v of latencies) latency.observe({ model_name: 'm' }, v);
  gauge.set({ model_name: 'm' }, memory);
  return r.snapshot();
}

test('counters and histograms are summed per label set; a gauge comes from the first server', () => {
  const a = server(3, [5, 50], 100);
  const b = server(4, [500], 100);
  const extra = new MetricsRegistry();
  extra.counter('/c', 'requests', ['model_name', 'status']).increment({ model_name: 'm', status: 'NOT_FOUND' });
  const merged = mergeSnapshots([a, b, extra.snapshot()]);
  const c = merged['/c'];
  assert.ok(c?.type === 'counter');
  assert.deepEqual(c.samples.map((s) => [s.labels.status, s.value]).sort(), [['NOT_FOUND', 1], ['OK', 7]]);
  const h = merged['/h'];
  assert.ok(h?.type === 'histogram');
  assert.deepEqual(h.samples.map((s) => [s.count, s.sum, [...s.bucketCounts]]), [[3, 555, [1, 1, 1]]]);
  const g = merged['/g'];
  assert.ok(g?.type === 'gauge');
  assert.deepEqual(g.samples.map((s) => s.value), [100]);
  assert.match(toPrometheusText(merged), /^:c\{model_name="m",status="OK"\} 7$/m);
  assert.deepEqual(mergeSnapshots([a]), a, 'one server: as it is');
});
