/**
 * What a batching server's metrics say about the batches of one measured cell (no Node imports: the
 * page side uses it too): batches run, mean rows before/after padding, mean queue wait per request and
 * the mean of each batch phase (concat, execute, readback, split), from two metric snapshots.
 */

/** A metrics snapshot as `server.metrics()` returns it (only what is read here). */
export type MetricsLike = Record<string, { samples?: ReadonlyArray<{ labels?: Record<string, string>; count?: number; sum?: number }> } | undefined>;

export const QUEUING = '/tensorflow/serving/batching_session/queuing_latency';
export const INPUT_BATCH = '/tensorflow/serving/batching_session/input_batch_size';
export const PROCESSED_BATCH = '/tensorflow/serving/batching_session/processed_batch_size';
export const PHASES = '/tfjs_serving/batching_session/batch_phase_latency';

export interface BatchCellStats {
  batches?: number;
  meanBatchSize?: number;
  meanProcessedBatchSize?: number;
  /** Mean µs: `queueWait` per request; `concat`, `execute`, `readback`, `split` per batch. */
  phaseMeanMicros?: Record<string, number>;
}

function totals(m: MetricsLike, name: string, phase?: string): { count: number; sum: number } {
  let count = 0;
  let sum = 0;
  for (const s of m[name]?.samples ?? []) {
    if (phase !== undefined && s.labels?.phase !== phase) continue;
    count += s.count ?? 0;
    sum += s.sum ?? 0;
  }
  return { count, sum };
}

/** The batches between snapshots `before` and `after`; empty when no batch ran. */
export function batchCellStats(before: MetricsLike, after: MetricsLike): BatchCellStats {
  const diff = (name: string, phase?: string) => {
    const [a, b] = [totals(before, name, phase), totals(after, name, phase)];
    return { count: b.count - a.count, sum: b.sum - a.sum };
  };
  const input = diff(INPUT_BATCH);
  if (input.count <= 0) return {};
  const processed = diff(PROCESSED_BATCH);
  const phaseMeanMicros: Record<string, number> = {};
  const q = diff(QUEUING);
  if (q.count > 0) phaseMeanMicros.queueWait = q.sum / q.count;
  for (const phase of ['concat', 'execute', 'readback', 'split']) {
    const p = diff(PHASES, phase);
    if (p.count > 0) phaseMeanMicros[phase] = p.sum / p.count;
  }
  return { batches: input.count, meanBatchSize: input.sum / input.count, meanProcessedBatchSize: processed.sum / input.count, phaseMeanMicros };
}
