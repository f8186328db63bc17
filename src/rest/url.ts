// TF Serving's REST URL grammar (model_servers/http_rest_api_util.cc), case-insensitive:
//   POST /v1/models/{m}[/versions/{digits}|/labels/{l}]:(classify|regress|predict)
//   GET  /v1/models[/{m}][/versions/{digits}|/labels/{l}][/metadata]
import { ServingError } from '../core/status.js';

export type RestRoute =
  | { kind: 'predict' | 'classify' | 'regress'; model: string; version?: number; label?: string }
  | { kind: 'status' | 'metadata'; model: string; version?: number; label?: string };

const PREDICTION = /^\/v1\/models\/([^/:]+)(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?:(classify|regress|predict)$/i;
const STATUS = /^\/v1\/models(?:\/([^/:]+))?(?:(?:\/versions\/(\d+))|(?:\/labels\/([^/:]+)))?(?:\/(metadata))?$/i;

/** TF Serving's "Malformed request" error for a method + path no route matches. */
export function malformed(method: string, path: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', `Malformed request: ${method} ${path}`);
}

/**
 * Parses a request path (raw, still percent-encoded, without the query) into a route. Throws
 * INVALID_ARGUMENT "Malformed request: …" when nothing matches, like TF Serving; the model name and
 * label are URL-decoded; a model name that is missing (`GET /v1/models`) is "Missing model name in request.".
 */
export function parseRestPath(method: string, path: string): RestRoute {
  const m = method.toUpperCase();
  if (m === 'POST') {
    const r = PREDICTION.exec(path);
    if (!r) throw malformed(method, path);
    return withSpec({ kind: r[4]!.toLowerCase() as 'predict' | 'classify' | 'regress', model: decode(r[1]!, 'model name') }, r[2], r[3]);
  }
  if (m === 'GET') {
    const r = STATUS.exec(path);
    if (!r) throw malformed(method, path);
    if (r[1] === undefined) throw new ServingError('INVALID_ARGUMENT', 'Missing model name in request.');
    return withSpec({ kind: r[4] ? 'metadata' : 'status', model: decode(r[1], 'model name') }, r[2], r[3]);
  }
  throw malformed(method, path);
}

function withSpec<T extends RestRoute>(route: T, version: string | undefined, label: string | undefined): T {
  if (version !== undefined) {
    const v = Number(version);
    if (!Number.isSafeInteger(v)) throw new ServingError('INVALID_ARGUMENT', `Failed to convert version: ${version} to numeric.`);
    route.version = v;
  }
  if (label !== undefined) route.label = decode(label, 'model version label');
  return route;
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ServingError('INVALID_ARGUMENT', `Failed to decode ${what}:${s}`);
  }
}
