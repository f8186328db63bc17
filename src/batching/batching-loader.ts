// TF Serving's batching source adapter: wraps each version's loader so that what it loads is batched.
import type { Loader, ResourceEstimate } from '../core/loader.js';
import type { TfjsServable } from '../runtime/tfjs-servable.js';
import type { NormalizedBatchingParameters } from './batching-parameters.js';
import type { BatchingMetricsSink } from './batching-session.js';
import { BatchingServable } from './batching-servable.js';

/** Loads a version through the wrapped loader and hands the manager a BatchingServable around it. */
export class BatchingLoader implements Loader<BatchingServable> {
  private servable: BatchingServable | undefined;

  constructor(
    private readonly inner: Loader<TfjsServable>,
    private readonly parameters: NormalizedBatchingParameters,
    private readonly metrics?: BatchingMetricsSink,
  ) {}

  estimateResources(): Promise<ResourceEstimate> {
    return this.inner.estimateResources();
  }

  async load(): Promise<BatchingServable> {
    this.servable = new BatchingServable(await this.inner.load(), this.parameters, this.metrics);
    return this.servable;
  }

  async unload(): Promise<void> {
    this.servable?.close();
    this.servable = undefined;
    await this.inner.unload();
  }
}
