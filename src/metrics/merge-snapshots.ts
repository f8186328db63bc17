// Metrics of several servers (the inference workers of one client) as one snapshot.
import type { HistogramSample, MetricLabels, MetricSnapshot, MetricsSnapshot, ValueSample } from './metrics-registry.js';
import { labelKey } from './metrics-registry.js';

/** A sample's key (a snapshot's samples carry every label of their metric). */
const keyOf = (labels: MetricLabels, names: readonly string[]): string => labelKey(labels, names) ?? '';

/**
 * Sums counters and histograms (bucket by bucket) over the snapshots, per label set; a gauge is taken
 * from the first snapshot that has it (gauges say a state of one server, such as its model memory).
 * A metric whose shape differs between snapshots (other buckets) is taken from the first.
 */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  const out: Record<string, MetricSnapshot> = {};
  for (const snapshot of snapshots) {
    for (const [name, metric] of Object.entries(snapshot)) {
      const seen = out[name];
      if (!seen) {
        out[name] = metric;
        continue;
      }
      if (seen.type === 'counter' && metric.type === 'counter') {
        out[name] = { ...seen, samples: sumValues(seen.samples, metric.samples, seen.labelNames) };
      } else if (seen.type === 'histogram' && metric.type === 'histogram' && sameBuckets(seen.buckets, metric.buckets)) {
        out[name] = { ...seen, samples: sumHistograms(seen.samples, metric.samples, seen.labelNames) };
      }
    }
  }
  return out;
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function sumValues(a: readonly ValueSample[], b: readonly ValueSample[], names: readonly string[]): ValueSample[] {
  const by = new Map(a.map((s) => [keyOf(s.labels, names), s]));
  for (const s of b) {
    const key = keyOf(s.labels, names);
    const had = by.get(key);
    by.set(key, had ? { labels: had.labels, value: had.value + s.value } : s);
  }
  return [...by.values()];
}

function sumHistograms(a: readonly HistogramSample[], b: readonly HistogramSample[], names: readonly string[]): HistogramSample[] {
  const by = new Map(a.map((s) => [keyOf(s.labels, names), s]));
  for (const s of b) {
    const key = keyOf(s.labels, names);
    const had = by.get(key);
    by.set(
      key,
      had
        ? { labels: had.labels, count: had.count + s.count, sum: had.sum + s.sum, bucketCounts: had.bucketCounts.map((c, i) => c + (s.bucketCounts[i] ?? 0)) }
        : s,
    );
  }
  return [...by.values()];
}
