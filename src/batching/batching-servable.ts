// TF Serving's BatchingSession around a session: the servable a batching loader hands the manager.
import type { PredictResult, RequestContext, Servable } from '../runtime/servable.js';
import type { SignatureSpec } from '../runtime/signature.js';
import type { TfjsServable } from '../runtime/tfjs-servable.js';
import type { NormalizedBatchingParameters } from './batching-parameters.js';
import type { BatchingMetricsSink } from './batching-session.js';
import { BatchingSession } from './batching-session.js';

/**
 * A loaded version whose requests are batched: one BatchingSession (queue) per signature, made on the
 * signature's first request with the parameters fixed at load. Requests are validated by the wrapped
 * servable before they join a queue, so one bad request never fails its batch-mates.
 */
export class BatchingServable implements Servable {
  private readonly sessions = new Map<string, BatchingSession>();

  constructor(
    private readonly inner: TfjsServable,
    readonly parameters: NormalizedBatchingParameters,
    private readonly metrics?: BatchingMetricsSink,
  ) {}

  get signatures(): ReadonlyMap<string, SignatureSpec> {
    return this.inner.signatures;
  }

  get sizeBytes(): number {
    return this.inner.sizeBytes;
  }

  get loadTimings() {
    return this.inner.loadTimings;
  }

  signature(name: string | undefined, where: string): SignatureSpec {
    return this.inner.signature(name, where);
  }

  async predict(signatureName: string | undefined, inputs: unknown, where: string, context?: RequestContext): Promise<PredictResult> {
    const signature = this.inner.signature(signatureName, where);
    const validated = this.inner.validate(signature, inputs, where);
    return { signature, outputs: await this.session(signature).run(validated, context) };
  }

  /** The batching queue of a signature (for tests and metrics). */
  session(signature: SignatureSpec): BatchingSession {
    let session = this.sessions.get(signature.name);
    if (!session) {
      session = new BatchingSession({
        signature,
        graphShape: (name) => this.inner.graphShape(name),
        run: (inputs, timing) => this.inner.run(signature, inputs, timing),
        parameters: this.parameters,
        metrics: this.metrics,
      });
      this.sessions.set(signature.name, session);
    }
    return session;
  }

  /** Stops every queue (tasks still waiting fail with UNAVAILABLE; none do while callers hold their handle). */
  close(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }
}
