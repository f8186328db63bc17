// A request read with one version's signature runs on that version — never a mismatch — and a swap in
// between never fails it: shared by REST's predict, classify/regress and gRPC's Predict.
import { ServingError } from '../core/status.js';
import type { GetSignatureResponse, VersionSelector } from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';

/**
 * Reads the signature of the version `selector` picks now and runs `run` with it; `run` pins its predict
 * to that version (`signature.model.version`). Under the availability-preserving policy the old version
 * unloads as soon as the new one is AVAILABLE, which can fall between the two: the pinned predict then
 * answers NOT_FOUND. When the client named no version, the request is read again with the signature of
 * the version the selector picks now and run there — once; a NOT_FOUND for any other reason (the same
 * version picked again, or a version the client named) is the answer.
 */
export async function runOnPinnedVersion<T>(
  server: ModelServer,
  model: string,
  selector: VersionSelector,
  signatureName: string | undefined,
  run: (signature: GetSignatureResponse) => Promise<T>,
): Promise<T> {
  const first = await server.getSignature(model, selector, signatureName);
  try {
    return await run(first);
  } catch (e) {
    if (selector.version !== undefined || !(e instanceof ServingError) || e.code !== 'NOT_FOUND') throw e;
    const now = await server.getSignature(model, selector, signatureName).catch(() => undefined);
    if (!now || now.model.version === first.model.version) throw e;
    return run(now);
  }
}
