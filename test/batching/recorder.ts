// A batch scheduler on a fake clock whose batches are recorded and finish when a test says so.
import { BatchScheduler } from '../../src/batching/batch-scheduler.js';
import type { Batch, BatchSchedulerOptions } from '../../src/batching/batch-scheduler.js';
import { FakeClock, flush } from './fake-clock.js';

export function options(o: Partial<BatchSchedulerOptions> = {}): BatchSchedulerOptions {
  const maxBatchSize = o.maxBatchSize ?? 4;
  return {
    maxBatchSize,
    maxExecutionBatchSize: o.maxExecutionBatchSize ?? maxBatchSize,
    batchTimeoutMicros: o.batchTimeoutMicros ?? 0,
    maxEnqueuedBatches: o.maxEnqueuedBatches ?? 10,
    numBatchThreads: o.numBatchThreads ?? 1,
    enableLargeBatchSplitting: o.enableLargeBatchSplitting ?? false,
    ...(o.allowedBatchSizes ? { allowedBatchSizes: o.allowedBatchSizes } : {}),
    ...(o.batchPaddingPolicy ? { batchPaddingPolicy: o.batchPaddingPolicy } : {}),
  };
}

/** A scheduler whose batches are recorded as "task:offset+size" strings and finish when told. */
export function recorder(o: Partial<BatchSchedulerOptions> = {}, clock = new FakeClock()) {
  const batches: string[][] = [];
  const finish: Array<() => void> = [];
  const scheduler = new BatchScheduler<string>(
    options(o),
    (b: Batch<string>) => {
      batches.push(b.pieces.map((p) => (p.size === p.taskSize ? `${p.task}` : `${p.task}:${p.offset}+${p.size}`)));
      return new Promise<void>((r) => finish.push(r));
    },
    clock,
  );
  const finishAll = async () => {
    while (finish.length) {
      finish.shift()!();
      await flush();
    }
  };
  return { scheduler, batches, clock, finishAll, finish };
}
