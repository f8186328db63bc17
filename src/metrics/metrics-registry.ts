// A small metrics registry in the spirit of TF's monitoring library (Counter, Gauge, Sampler): metrics
// with named labels, a JSON snapshot, and the Prometheus text exposition format.

/** Label values of one sample, by label name. */
export type MetricLabels = Readonly<Record<string, string>>;

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One labelled value of a counter or gauge. */
export interface ValueSample {
  readonly labels: MetricLabels;
  readonly value: number;
}

/** One labelled distribution of a histogram. */
export interface HistogramSample {
  readonly labels: MetricLabels;
  /** Number of observations. */
  readonly count: number;
  /** Sum of the observed values. */
  readonly sum: number;
  /**
   * Observations per bucket, not cumulative: `bucketCounts[i]` counts values in
   * `(buckets[i-1], buckets[i]]`; the last entry (one more than `buckets`) counts values above the last bound.
   */
  readonly bucketCounts: readonly number[];
}

export interface CounterSnapshot {
  readonly type: 'counter';
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly samples: readonly ValueSample[];
}

export interface GaugeSnapshot {
  readonly type: 'gauge';
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly samples: readonly ValueSample[];
}

export interface HistogramSnapshot {
  readonly type: 'histogram';
  readonly help: string;
  readonly labelNames: readonly string[];
  /** Upper bounds of the buckets, increasing (the `+Inf` bucket is implied). */
  readonly buckets: readonly number[];
  readonly samples: readonly HistogramSample[];
}

export type MetricSnapshot = CounterSnapshot | GaugeSnapshot | HistogramSnapshot;

/**
 * Every metric by its TF name (e.g. `/tensorflow/serving/request_count`). Plain JSON: it crosses
 * `postMessage` and `JSON.stringify` as it is.
 */
export type MetricsSnapshot = Record<string, MetricSnapshot>;

/** TF's `Buckets::Exponential(scale, growth, count)`: `scale * growth^i` for i in [0, count). */
export function exponentialBuckets(scale: number, growth: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(scale * growth ** i);
  return out;
}

/**
 * The key of a label set in label-name order, each value length-prefixed (so no two sets share one);
 * undefined when a label is missing. Built for every request by several metrics: no arrays, no JSON.
 */
export function labelKey(labels: MetricLabels, names: readonly string[]): string | undefined {
  let key = '';
  for (const n of names) {
    const v = labels[n];
    if (v === undefined) return undefined;
    key += `${v.length}:${v}`;
  }
  return key;
}

abstract class Metric<S> {
  protected readonly cells = new Map<string, { labels: MetricLabels; cell: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected cell(labels: MetricLabels, make: () => S): S {
    const key = labelKey(labels, this.labelNames);
    if (key === undefined) throw new Error(`metric ${this.name}: label ${this.labelNames.find((n) => labels[n] === undefined)} is missing`);
    let entry = this.cells.get(key);
    if (!entry) {
      entry = { labels: Object.fromEntries(this.labelNames.map((n) => [n, labels[n] ?? ''])), cell: make() };
      this.cells.set(key, entry);
    }
    return entry.cell;
  }

  /** The cell of `labels` if it exists (a missing label matches no cell). */
  protected existing(labels: MetricLabels): S | undefined {
    const key = labelKey(labels, this.labelNames);
    return key === undefined ? undefined : this.cells.get(key)?.cell;
  }

  abstract snapshot(): MetricSnapshot;
}

/** A monotonically increasing count per label set. */
export class Counter extends Metric<{ value: number }> {
  increment(labels: MetricLabels = {}, by = 1): void {
    this.cell(labels, () => ({ value: 0 })).value += by;
  }

  value(labels: MetricLabels = {}): number {
    return this.existing(labels)?.value ?? 0;
  }

  snapshot(): CounterSnapshot {
    return { type: 'counter', help: this.help, labelNames: [...this.labelNames], samples: [...this.cells.values()].map((e) => ({ labels: { ...e.labels }, value: e.cell.value })) };
  }
}

/** A value that can go up and down per label set. */
export class Gauge extends Metric<{ value: number }> {
  set(labels: MetricLabels, value: number): void {
    this.cell(labels, () => ({ value: 0 })).value = value;
  }

  snapshot(): GaugeSnapshot {
    return { type: 'gauge', help: this.help, labelNames: [...this.labelNames], samples: [...this.cells.values()].map((e) => ({ labels: { ...e.labels }, value: e.cell.value })) };
  }
}

/** A distribution over fixed buckets per label set (TF's Sampler). */
export class Histogram extends Metric<{ count: number; sum: number; bucketCounts: number[] }> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] ?? -Infinity)))) {
      throw new Error(`metric ${name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }

  observe(labels: MetricLabels, value: number): void {
    const c = this.cell(labels, () => ({ count: 0, sum: 0, bucketCounts: new Array<number>(this.buckets.length + 1).fill(0) }));
    let i = 0;
    while (i < this.buckets.length && value > (this.buckets[i] ?? Infinity)) i++;
    c.bucketCounts[i]!++;
    c.count++;
    c.sum += value;
  }

  snapshot(): HistogramSnapshot {
    return {
      type: 'histogram',
      help: this.help,
      labelNames: [...this.labelNames],
      buckets: [...this.buckets],
      samples: [...this.cells.values()].map((e) => ({ labels: { ...e.labels }, count: e.cell.count, sum: e.cell.sum, bucketCounts: [...e.cell.bucketCounts] })),
    };
  }
}

/** The metrics of one server. Names are TF's (`/tensorflow/serving/…`); Prometheus output sanitizes them. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Counter | Gauge | Histogram>();

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  private add<M extends Counter | Gauge | Histogram>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  snapshot(): MetricsSnapshot {
    return Object.fromEntries([...this.metrics].map(([name, m]) => [name, m.snapshot()]));
  }

  /** The Prometheus text exposition format (version 0.0.4), as TF Serving's exporter writes it. */
  prometheus(): string {
    return toPrometheusText(this.snapshot());
  }
}

/** TF Serving's exporter: every character outside `[A-Za-z0-9_]` becomes `:`. */
export function sanitizeMetricName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, ':');
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labelText(labels: MetricLabels, extra?: [string, string]): string {
  const parts = Object.entries(labels).map(([k, v]) => `${sanitizeMetricName(k)}="${escapeLabelValue(v)}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** Renders a snapshot in the Prometheus text exposition format. Metrics without samples are left out. */
export function toPrometheusText(snapshot: MetricsSnapshot): string {
  const lines: string[] = [];
  for (const [rawName, m] of Object.entries(snapshot)) {
    if (m.samples.length === 0) continue;
    const name = sanitizeMetricName(rawName);
    lines.push(`# HELP ${name} ${escapeHelp(m.help)}`, `# TYPE ${name} ${m.type}`);
    if (m.type === 'histogram') {
      for (const s of m.samples) {
        let cumulative = 0;
        for (const [i, bound] of m.buckets.entries()) {
          cumulative += s.bucketCounts[i] ?? 0;
          lines.push(`${name}_bucket${labelText(s.labels, ['le', num(bound)])} ${cumulative}`);
        }
        lines.push(`${name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${s.count}`);
        lines.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
        lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
      }
    } else {
      for (const s of m.samples) lines.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
