// The metrics registry and its Prometheus text, and the serving metrics a real server records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, predictDense } from '../helpers/serving.js';
import { MetricsRegistry, sanitizeMetricName } from '../../src/metrics/metrics-registry.js';
import type { CounterSnapshot, GaugeSnapshot, HistogramSnapshot, PredictRequest } from '../../src/index.js';

/** Checks every line of a Prometheus text exposition and returns its samples by `name{labels}`. */
function parsePrometheus(text: string): Map<string, number> {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/))) continue;
    if ((m = line.match(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/))) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/);
    assert.ok(m, `a sample line: ${JSON.stringify(line)}`);
    const base = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1]!) || (types.get(base) === 'histogram'), `# TYPE precedes ${m[1]}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]!.replace('+Inf', 'Infinity')));
  }
  return samples;
}

test('registry: counters, gauges and histograms by label; Prometheus text with cumulative buckets, _sum and _count', () => {
  const r = new MetricsRegistry();
  const c = r.counter('/tensorflow/serving/request_count', 'The total number of requests.', ['model_name', 'status']);
  const g = r.gauge('/x/gauge', 'A gauge', ['k']);
  const h = r.histogram('/x/latency', 'Latency "µs"\nsecond line', ['m'], [1, 10, 100]);
  c.increment({ model_name: 'm', status: 'OK' });
  c.increment({ model_name: 'm', status: 'OK' }, 2);
  c.increment({ model_name: 'a"b\\c', status: 'NOT_FOUND' });
  g.set({ k: 'v' }, 1.5);
  for (const v of [0.5, 1, 5, 50, 500]) h.observe({ m: 'm' }, v);
  r.counter('/x/unused', 'never incremented');
  assert.equal(c.value({ model_name: 'm', status: 'OK' }), 3);
  assert.throws(() => c.increment({ model_name: 'm' }), /label status is missing/);
  assert.throws(() => r.counter('/x/gauge', 'again'), /registered twice/);

  const snap = r.snapshot();
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap, 'the snapshot is plain JSON');
  const hs = snap['/x/latency'] as HistogramSnapshot;
  assert.deepEqual(hs.samples[0], { labels: { m: 'm' }, count: 5, sum: 556.5, bucketCounts: [2, 1, 1, 1] });

  const text = r.prometheus();
  const samples = parsePrometheus(text);
  assert.equal(samples.get(':tensorflow:serving:request_count{model_name="m",status="OK"}'), 3);
  assert.equal(samples.get(':tensorflow:serving:request_count{model_name="a\\"b\\\\c",status="NOT_FOUND"}'), 1);
  assert.equal(samples.get(':x:gauge{k="v"}'), 1.5);
  assert.equal(samples.get(':x:latency_bucket{m="m",le="1"}'), 2);
  assert.equal(samples.get(':x:latency_bucket{m="m",le="10"}'), 3);
  assert.equal(samples.get(':x:latency_bucket{m="m",le="100"}'), 4);
  assert.equal(samples.get(':x:latency_bucket{m="m",le="+Inf"}'), 5);
  assert.equal(samples.get(':x:latency_sum{m="m"}'), 556.5);
  assert.equal(samples.get(':x:latency_count{m="m"}'), 5);
  assert.match(text, /^# HELP :x:latency Latency "µs"\\nsecond line$/m);
  assert.match(text, /^# TYPE :tensorflow:serving:request_count counter$/m);
  assert.doesNotMatch(text, /unused/, 'metrics without samples are left out');
  assert.equal(sanitizeMetricName('/tensorflow/serving/batching_session/queuing_latency'), ':tensorflow:serving:batching_session:queuing_latency');
});

test('a server counts requests by status (OK and failures), times them, and records load, warmup and backend', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    for (let i = 0; i < 3; i++) await predictDense(server, i);
    await assert.rejects(server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1, 2]] } }));
    await assert.rejects(server.predict({ model: 'nope', inputs: {} }));
    await assert.rejects(server.predict({ model: 'm', version: 7, inputs: {} }));
    await assert.rejects(server.predict(null as unknown as PredictRequest));
    await server.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[1]] } }, { entrypoint: 'REST' });

    const m = await server.metrics();
    const counts = (m['/tensorflow/serving/request_count'] as CounterSnapshot).samples.map((s) => `${s.labels.model_name}:${s.labels.status}=${s.value}`).sort();
    // Requests for models that are not configured share one label, so bad requests cannot grow the metrics.
    assert.deepEqual(counts, ['(unknown):INVALID_ARGUMENT=1', '(unknown):NOT_FOUND=1', 'm:INVALID_ARGUMENT=1', 'm:NOT_FOUND=1', 'm:OK=4']);
    const latency = m['/tensorflow/serving/request_latency'] as HistogramSnapshot;
    const local = latency.samples.find((s) => s.labels.model_name === 'm' && s.labels.entrypoint === 'local' && s.labels.API === 'predict')!;
    assert.equal(local.count, 5);
    assert.ok(local.sum > 0);
    assert.equal(latency.samples.find((s) => s.labels.entrypoint === 'REST')!.count, 1);
    const load = (m['/tensorflow/serving/model_load_latency'] as HistogramSnapshot).samples;
    assert.deepEqual(load.map((s) => [s.labels, s.count]), [[{ model_name: 'm', model_version: '1' }, 1]]);
    assert.ok(load[0]!.sum > 0, 'load took some µs');
    const warmup = (m['/tensorflow/serving/model_warmup_latency'] as HistogramSnapshot).samples;
    assert.deepEqual(warmup.map((s) => [s.labels, s.count]), [[{ model_name: 'm', model_version: '1', status: 'OK' }, 1]]);
    assert.ok(load[0]!.sum >= warmup[0]!.sum, 'load latency includes warmup');
    assert.deepEqual((m['/tensorflow/serving/backend'] as GaugeSnapshot).samples, [{ labels: { backend: 'wasm' }, value: 1 }]);
    assert.equal((m['/tensorflow/serving/batching_session/input_batch_size'] as HistogramSnapshot).samples.length, 0, 'batching is off');

    await h.publishDense('m', 2);
    await server.pollNow();
    const loads = ((await server.metrics())['/tensorflow/serving/model_load_latency'] as HistogramSnapshot).samples.map((s) => s.labels.model_version);
    assert.deepEqual(loads, ['1', '2']);

    const samples = parsePrometheus(await server.prometheusMetrics());
    assert.equal(samples.get(':tensorflow:serving:request_count{model_name="m",status="OK"}'), 4);
    assert.equal(samples.get(':tensorflow:serving:request_count{model_name="(unknown)",status="NOT_FOUND"}'), 1);
    assert.equal(samples.get(':tensorflow:serving:backend{backend="wasm"}'), 1);
    assert.equal(samples.get(':tensorflow:serving:request_latency_count{model_name="m",API="predict",entrypoint="local"}'), 5);
    assert.equal(samples.get(':tensorflow:serving:request_latency_bucket{model_name="m",API="predict",entrypoint="local",le="+Inf"}'), 5);
    assert.equal(samples.get(':tensorflow:serving:model_load_latency_count{model_name="m",model_version="2"}'), 1);
    // Buckets are cumulative: never decreasing, ending at _count.
    const buckets = [...samples].filter(([k]) => k.startsWith(':tensorflow:serving:request_latency_bucket{model_name="m",API="predict",entrypoint="local"')).map(([, v]) => v);
    assert.equal(buckets.length, 34, "TF Serving's 33 buckets and +Inf");
    assert.ok(buckets.every((v, i) => i === 0 || v >= buckets[i - 1]!));
  } finally {
    await h.close();
  }
});
