// The metrics TF Serving exports, under TF Serving's names, recorded by one model server.
import type { StatusCode } from '../core/status.js';
import type { BatchingMetricsSink } from '../batching/batching-session.js';
import { exponentialBuckets, MetricsRegistry } from './metrics-registry.js';
import type { MetricsSnapshot } from './metrics-registry.js';

/** TF Serving's names of the metrics a `LocalModelServer` records. */
export const METRIC_NAMES = {
  /** counter {model_name, status}: requests by final status code name (`OK`, `INVALID_ARGUMENT`, …). */
  requestCount: '/tensorflow/serving/request_count',
  /** histogram µs {model_name, API, entrypoint}: wall time of a request, queueing included. */
  requestLatency: '/tensorflow/serving/request_latency',
  /** histogram µs {model_name}: time a task waited in a batching queue before its batch ran. */
  queuingLatency: '/tensorflow/serving/batching_session/queuing_latency',
  /** histogram {model_name}: rows of each batch before padding. */
  inputBatchSize: '/tensorflow/serving/batching_session/input_batch_size',
  /** histogram {model_name}: rows of each batch as executed (after padding). */
  processedBatchSize: '/tensorflow/serving/batching_session/processed_batch_size',
  /** histogram {model_name, execution_batch_size}: padding rows added to each batch. */
  paddingSize: '/tensorflow/serving/batching_session/padding_size',
  /** counter: runs of the model on a batch (TF: calls of the wrapped session). */
  wrappedRunCount: '/tensorflow/serving/batching_session/wrapped_run_count',
  /**
   * histogram µs {model_name, phase}: the phases of each batch — `concat` (inputs joined on the CPU),
   * `execute` (input tensors made, graph executed; a GPU upload happens here), `readback` (outputs read
   * to the CPU), `split` (outputs cut per request). Not a TF Serving metric: this library's own.
   */
  batchPhaseLatency: '/tfjs_serving/batching_session/batch_phase_latency',
  /** histogram µs {model_name, model_version}: loading a version, warmup included. */
  modelLoadLatency: '/tensorflow/serving/model_load_latency',
  /** histogram µs {model_name, model_version, status}: replaying warmup requests. */
  modelWarmupLatency: '/tensorflow/serving/model_warmup_latency',
  /**
   * counter {model_name, result}: predictions under on-demand loading whose model was loaded (`hit`) or
   * had to be loaded first (`miss`); hit rate = hit / (hit + miss). Not a TF Serving metric.
   */
  onDemandRequests: '/tfjs_serving/on_demand/request_count',
  /** histogram µs {model_name}: how long a missed prediction waited for its model's on-demand load. */
  onDemandWaitLatency: '/tfjs_serving/on_demand/wait_latency',
  /** counter {model_name}: models loaded on demand. */
  onDemandLoads: '/tfjs_serving/on_demand/load_count',
  /** counter {model_name}: models unloaded to make room for another. */
  onDemandEvictions: '/tfjs_serving/on_demand/eviction_count',
  /**
   * counter {model_name, model_version, status}: requests by the version that answered (or failed)
   * them, so a canary can be compared with the stable version. Not a TF Serving metric.
   */
  versionRequestCount: '/tfjs_serving/version_request_count',
  /** histogram µs {model_name, model_version}: wall time of a request, by the version it picked. Not a TF Serving metric. */
  versionRequestLatency: '/tfjs_serving/version_request_latency',
  /** gauge {backend}: 1 for the TF.js backend predictions run on. */
  backend: '/tensorflow/serving/backend',
} as const;

/** TF Serving's latency buckets: `Buckets::Exponential(10, 1.8, 33)` µs (10 µs … ~20 minutes). */
export const LATENCY_BUCKETS_MICROS = exponentialBuckets(10, 1.8, 33);
/** TF Serving's queuing latency buckets: `Buckets::Exponential(100, 1.2, 52)` µs (100 µs … ~1 s). */
export const QUEUING_BUCKETS_MICROS = exponentialBuckets(100, 1.2, 52);
/** Batch sizes: 1, 2, 4, … 8192. */
export const BATCH_SIZE_BUCKETS = exponentialBuckets(1, 2, 14);

/** What the on-demand loader reports (`modelLoading: 'on-demand'`). */
export interface OnDemandMetricsSink {
  /** A prediction found its model loaded. */
  hit(model: string): void;
  /** A prediction found its model not loaded and waited `waitMicros` for it (also when the wait failed). */
  miss(model: string, waitMicros: number): void;
  /** A model was loaded because a request asked for it. */
  load(model: string): void;
  /** A model was unloaded to make room for another. */
  eviction(model: string): void;
}

/** Records the serving metrics of one server into its own registry. */
export class ServingMetrics {
  readonly registry = new MetricsRegistry();
  private readonly requestCount = this.registry.counter(METRIC_NAMES.requestCount, 'The total number of requests.', ['model_name', 'status']);
  private readonly requestLatency = this.registry.histogram(
    METRIC_NAMES.requestLatency,
    'Distribution of wall time (in microseconds) for Tensorflow Serving request.',
    ['model_name', 'API', 'entrypoint'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly queuingLatency = this.registry.histogram(
    METRIC_NAMES.queuingLatency,
    'Distribution of wall time spent (in microseconds) in queuing',
    ['model_name'],
    QUEUING_BUCKETS_MICROS,
  );
  private readonly inputBatchSize = this.registry.histogram(METRIC_NAMES.inputBatchSize, 'Tracks the batch size distribution on the inputs.', ['model_name'], BATCH_SIZE_BUCKETS);
  private readonly processedBatchSize = this.registry.histogram(
    METRIC_NAMES.processedBatchSize,
    'Tracks the batch size distribution on processing.',
    ['model_name'],
    BATCH_SIZE_BUCKETS,
  );
  private readonly paddingSize = this.registry.histogram(
    METRIC_NAMES.paddingSize,
    'Tracks the padding size distribution on batches.',
    ['model_name', 'execution_batch_size'],
    [0, ...BATCH_SIZE_BUCKETS],
  );
  private readonly batchPhaseLatency = this.registry.histogram(
    METRIC_NAMES.batchPhaseLatency,
    'Distribution of wall time (in microseconds) of each phase of a batch: concat, execute, readback, split.',
    ['model_name', 'phase'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly wrappedRunCount = this.registry.counter(METRIC_NAMES.wrappedRunCount, 'Total count of run calls on the wrapped session', ['model_name']);
  private readonly loadLatency = this.registry.histogram(
    METRIC_NAMES.modelLoadLatency,
    'Distribution of wall time (in microseconds) for loading a model version, warmup included.',
    ['model_name', 'model_version'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly warmupLatency = this.registry.histogram(
    METRIC_NAMES.modelWarmupLatency,
    'Distribution of wall time (in microseconds) for warming up the model.',
    ['model_name', 'model_version', 'status'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly onDemandRequests = this.registry.counter(METRIC_NAMES.onDemandRequests, 'Predictions under on-demand loading, by whether their model was loaded (hit) or not (miss).', ['model_name', 'result']);
  private readonly onDemandWaitLatency = this.registry.histogram(
    METRIC_NAMES.onDemandWaitLatency,
    'Distribution of wall time (in microseconds) a prediction waited for its model to be loaded on demand.',
    ['model_name'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly onDemandLoads = this.registry.counter(METRIC_NAMES.onDemandLoads, 'Models loaded on demand.', ['model_name']);
  private readonly onDemandEvictions = this.registry.counter(METRIC_NAMES.onDemandEvictions, 'Models unloaded to make room for another (least recently used first).', ['model_name']);
  private readonly versionRequestCount = this.registry.counter(
    METRIC_NAMES.versionRequestCount,
    'The total number of requests, by the model version that took them.',
    ['model_name', 'model_version', 'status'],
  );
  private readonly versionRequestLatency = this.registry.histogram(
    METRIC_NAMES.versionRequestLatency,
    'Distribution of wall time (in microseconds) of requests, by the model version that took them.',
    ['model_name', 'model_version'],
    LATENCY_BUCKETS_MICROS,
  );
  private readonly backendGauge = this.registry.gauge(METRIC_NAMES.backend, 'The TF.js backend predictions run on (1 for the one in use).', ['backend']);

  recordRequest(model: string, status: StatusCode, latencyMicros: number, entrypoint: string, api = 'predict'): void {
    this.requestCount.increment({ model_name: model, status });
    this.requestLatency.observe({ model_name: model, API: api, entrypoint }, latencyMicros);
  }

  /** One request that picked `version` (canary or stable, pinned or not). */
  recordVersionRequest(model: string, version: number, status: StatusCode, latencyMicros: number): void {
    this.versionRequestCount.increment({ model_name: model, model_version: String(version), status });
    this.versionRequestLatency.observe({ model_name: model, model_version: String(version) }, latencyMicros);
  }

  recordLoad(model: string, version: number, loadMicros: number): void {
    this.loadLatency.observe({ model_name: model, model_version: String(version) }, loadMicros);
  }

  recordWarmup(model: string, version: number, status: StatusCode, micros: number): void {
    this.warmupLatency.observe({ model_name: model, model_version: String(version), status }, micros);
  }

  setBackend(backend: string): void {
    this.backendGauge.set({ backend }, 1);
  }

  /** A sink for the on-demand loader: hits, misses (with their wait), loads and evictions. */
  onDemandSink(): OnDemandMetricsSink {
    return {
      hit: (model) => this.onDemandRequests.increment({ model_name: model, result: 'hit' }),
      miss: (model, waitMicros) => {
        this.onDemandRequests.increment({ model_name: model, result: 'miss' });
        this.onDemandWaitLatency.observe({ model_name: model }, waitMicros);
      },
      load: (model) => this.onDemandLoads.increment({ model_name: model }),
      eviction: (model) => this.onDemandEvictions.increment({ model_name: model }),
    };
  }

  /** A sink for one model's batching queues. */
  batchingSink(model: string): BatchingMetricsSink {
    return {
      queuingLatency: (micros) => this.queuingLatency.observe({ model_name: model }, micros),
      batch: (inputSize, processedSize) => {
        this.inputBatchSize.observe({ model_name: model }, inputSize);
        this.processedBatchSize.observe({ model_name: model }, processedSize);
        this.paddingSize.observe({ model_name: model, execution_batch_size: String(processedSize) }, processedSize - inputSize);
      },
      wrappedRun: () => this.wrappedRunCount.increment({ model_name: model }),
      phases: (p) => {
        for (const [phase, micros] of Object.entries(p)) {
          if (typeof micros === 'number') this.batchPhaseLatency.observe({ model_name: model, phase }, micros);
        }
      },
    };
  }

  snapshot(): MetricsSnapshot {
    return this.registry.snapshot();
  }

  prometheus(): string {
    return this.registry.prometheus();
  }
}

/** Microseconds since `startMs` (a `performance.now()` reading). */
export function microsSince(startMs: number): number {
  return Math.max(0, Math.round((performance.now() - startMs) * 1000));
}
