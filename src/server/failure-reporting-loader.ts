// A Loader that says each failed load attempt: the manager retries a failed load with the version
// still LOADING, so without this a retrying version is silent (TF Serving logs every retry).
import type { Loader, ResourceEstimate } from '../core/loader.js';
import { ServingError } from '../core/status.js';

/** Told of each failed `load`: which attempt (1 = the first load), and why. */
export type LoadFailureListener = (attempt: number, error: ServingError) => void;

/** Wraps a loader; `onFailure` hears each failed attempt before the error goes on to the manager. */
export class FailureReportingLoader<T> implements Loader<T> {
  private attempts = 0;

  constructor(
    private readonly inner: Loader<T>,
    private readonly onFailure: LoadFailureListener,
  ) {}

  estimateResources(): Promise<ResourceEstimate> {
    return this.inner.estimateResources();
  }

  async load(): Promise<T> {
    const attempt = ++this.attempts;
    try {
      return await this.inner.load();
    } catch (e) {
      this.onFailure(attempt, ServingError.from(e, 'UNKNOWN'));
      throw e;
    }
  }

  unload(): Promise<void> {
    return this.inner.unload();
  }
}
