// TF Serving's PredictionServiceImpl (and GetModelMetadataImpl): requests resolved to a version
// through the ServerCore, answered by that version's servable, recorded in the metrics.
import { ServingError } from '../core/status.js';
import type { ServingMetrics } from '../metrics/serving-metrics.js';
import { microsSince } from '../metrics/serving-metrics.js';
import { signatureDefJson } from '../runtime/signature.js';
import type { GetModelMetadataResponse, GetSignatureResponse, PredictOptions, PredictRequest, PredictResponse, VersionSelector } from './api-types.js';
import type { ServerCore } from './server-core.js';

export class PredictionService {
  constructor(
    private readonly core: ServerCore,
    private readonly metrics: ServingMetrics,
  ) {}

  /**
   * Runs one prediction on the version the request picks; the version stays loaded until it
   * finishes. The servable validates and runs it (batched, when the loader wrapped it for batching).
   */
  async predict(request: PredictRequest, options: PredictOptions = {}): Promise<PredictResponse> {
    const startedAt = performance.now();
    const asked = typeof request === 'object' && request !== null ? request.model : undefined;
    const modelName = this.core.isConfigured(asked) ? asked : '(unknown)';
    const entrypoint = options.entrypoint ?? 'local';
    try {
      const response = await this.predictNow(request);
      this.metrics.recordRequest(modelName, 'OK', microsSince(startedAt), entrypoint);
      return response;
    } catch (e) {
      this.metrics.recordRequest(modelName, ServingError.from(e).code, microsSince(startedAt), entrypoint);
      throw e;
    }
  }

  /** TF Serving's GetModelMetadata (signature_def) of the version the selector picks. */
  getModelMetadata(model: string, selector: number | VersionSelector = {}): GetModelMetadataResponse {
    const handle = this.core.servableHandle(model, typeof selector === 'number' ? { version: selector } : selector);
    try {
      const defs = Object.fromEntries([...handle.servable.signatures].map(([k, s]) => [k, signatureDefJson(s)]));
      return {
        model_spec: { name: model, signature_name: '', version: String(handle.id.version) },
        metadata: { signature_def: { signature_def: defs } },
      };
    } finally {
      handle.release();
    }
  }

  /** One signature (with its parse spec) of the version the selector picks now. */
  getSignature(model: string, selector: VersionSelector = {}, signatureName?: string): GetSignatureResponse {
    const handle = this.core.servableHandle(model, selector);
    try {
      const signature = handle.servable.signature(signatureName, `model ${handle.id.name} version ${handle.id.version}`);
      return { model: { name: handle.id.name, version: handle.id.version, signatureName: signature.name }, signature };
    } finally {
      handle.release();
    }
  }

  private async predictNow(request: PredictRequest): Promise<PredictResponse> {
    if (typeof request !== 'object' || request === null) throw new ServingError('INVALID_ARGUMENT', 'predict needs a request object {model, inputs, version?, label?, signatureName?}');
    const handle = this.core.servableHandle(request.model, request);
    try {
      const where = `model ${handle.id.name} version ${handle.id.version}`;
      if (request.signatureName !== undefined && typeof request.signatureName !== 'string') {
        throw new ServingError('INVALID_ARGUMENT', `${where}: signatureName must be a string`);
      }
      // The handle is held until the (batched) run is done.
      const { signature, outputs } = await handle.servable.predict(request.signatureName, request.inputs, where);
      return { model: { name: handle.id.name, version: handle.id.version, signatureName: signature.name }, outputs };
    } finally {
      handle.release();
    }
  }
}
