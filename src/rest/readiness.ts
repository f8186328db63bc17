// Kubernetes probes (not part of TF Serving's API): readiness means every configured model has an
// AVAILABLE version and the server is not draining; liveness means the process answers HTTP.
import { messageOf } from '../core/status.js';
import type { ModelServer } from '../server/model-server.js';

/** Readiness probe path: 200 when every configured model has an AVAILABLE version, 503 otherwise and while draining. */
export const READINESS_PATH = '/readyz';
/** Liveness probe path: 200 while the process serves HTTP (it never asks the models). */
export const LIVENESS_PATH = '/livez';

/** Why a model keeps the server from being ready, or `undefined` when it has an AVAILABLE version. */
async function notReadyReason(server: ModelServer, model: string, onDemand: boolean): Promise<string | undefined> {
  try {
    const status = await server.getModelStatus(model).catch((e: unknown) => {
      // On demand, a model never asked for has no status yet; its stored versions say whether it can load.
      if (onDemand) return { model_version_status: [] };
      throw e;
    });
    if (status.model_version_status.some((v) => v.state === 'AVAILABLE')) return undefined;
    if (onDemand && (await server.sourceState(model)).storedVersions.length > 0) return undefined;
    const seen = status.model_version_status.map((v) => `version ${v.version} ${v.state}${v.status.error_message ? ` (${v.status.error_message})` : ''}`);
    return seen.length ? seen.join('; ') : 'no version seen yet';
  } catch (e) {
    return messageOf(e);
  }
}

/**
 * The readiness answer, TF Serving's model status folded into one bit as Kubernetes needs it: 200
 * `{"ready":true}` once every configured model has an AVAILABLE version (a swap keeps the old one
 * AVAILABLE, so readiness holds through it); 503 naming each model that has none, and 503 while draining.
 * With `modelLoading: 'on-demand'` a model also counts once a version of it is stored (it loads when asked for).
 */
export async function readinessResponse(server: ModelServer, draining: boolean, modelLoading: 'eager' | 'on-demand' = 'eager'): Promise<Response> {
  const headers = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (draining) return new Response(JSON.stringify({ ready: false, error: 'shutting down: not accepting new requests' }), { status: 503, headers });
  const models = await server.modelNames();
  const reasons = await Promise.all(models.map(async (m) => [m, await notReadyReason(server, m, modelLoading === 'on-demand')] as const));
  const waiting = Object.fromEntries(reasons.filter(([, why]) => why !== undefined));
  if (Object.keys(waiting).length === 0) return new Response(JSON.stringify({ ready: true, models }), { status: 200, headers });
  const error = `not ready: ${Object.entries(waiting).map(([m, why]) => `model ${JSON.stringify(m)} has no AVAILABLE version (${why})`).join('; ')}`;
  return new Response(JSON.stringify({ ready: false, error, models: waiting }), { status: 503, headers });
}

/** The liveness answer: the process is up and its HTTP loop turns. */
export function livenessResponse(): Response {
  return new Response(JSON.stringify({ alive: true }), { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}
