// TF Serving's REST API v1 over standard Fetch API objects: works in Node 20 (see node-http.ts),
// in pages and in Service Workers. Nothing here touches Node or the DOM.
import type { StatusCode } from '../core/status.js';
import { ServingError } from '../core/status.js';
import type { TensorSpec } from '../runtime/signature.js';
import type { GetSignatureResponse } from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';
import { classifyResponseJson, regressResponseJson } from './examples.js';
import { runExamples } from './example-requests.js';
import type { JsonValue } from './json.js';
import { stringifyJson } from './json.js';
import { DEFAULT_MAX_BODY_BYTES, readBodyBytes } from './body.js';
import { DenseNumbers } from './dense-numbers.js';
import type { BodyValue } from './json-bytes.js';
import { parseJsonBytes } from './json-bytes.js';
import type { SignatureTensor } from './tensor-json.js';
import { jsonForError, predictInputsFromJson, predictResponseChunks } from './tensor-json.js';
import { textStream } from './text-stream.js';
import type { RestRoute } from './url.js';
import { malformed, parseRestPath } from './url.js';
import { runOnPinnedVersion } from './pinned-version.js';

export interface RestOptions {
  /** Add TF Serving's CORS headers and answer preflight OPTIONS (`--rest_api_enable_cors_support`). */
  cors?: boolean;
  /** Path of the Prometheus text exposition; false turns it off. Default `/monitoring/prometheus/metrics`. */
  prometheusPath?: string | false;
  /** Per-request deadline in ms (`--rest_api_timeout_in_ms`); 0 or undefined: none. */
  timeoutMs?: number;
  /** Largest request body accepted, in bytes, counted as it streams in (`--rest_api_max_body_bytes`). Default 64 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

/** TF Serving's HTTP status for each canonical code (model_servers/http_server.cc ToHTTPStatusCode). */
export function httpStatusOf(code: StatusCode): number {
  switch (code) {
    case 'OK':
      return 200;
    case 'CANCELLED':
      return 499;
    case 'INVALID_ARGUMENT':
    case 'FAILED_PRECONDITION':
    case 'OUT_OF_RANGE':
      return 400;
    case 'DEADLINE_EXCEEDED':
      return 504;
    case 'NOT_FOUND':
      return 404;
    case 'ALREADY_EXISTS':
    case 'ABORTED':
      return 409;
    case 'PERMISSION_DENIED':
      return 403;
    case 'UNAUTHENTICATED':
      return 401;
    case 'RESOURCE_EXHAUSTED':
      return 429;
    case 'UNIMPLEMENTED':
      return 501;
    case 'UNAVAILABLE':
      return 503;
    case 'UNKNOWN':
    case 'INTERNAL':
    case 'DATA_LOSS':
    default:
      return 500;
  }
}

/**
 * The request header that names the user a request is assigned to a model's canary as (requests that
 * name neither a version nor a label): the same value always gets the same version. Without it, each
 * request is assigned by the server's default user id (a browser's stored id) or at random.
 */
export const USER_ID_HEADER = 'X-Tfjs-Serving-User';

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET',
  'Access-Control-Allow-Headers': 'Content-Type, X-Tfjs-Serving-User',
};

/**
 * Answers one TF Serving REST request (`/v1/models/…`, and the Prometheus page when the server has
 * `prometheusMetrics`). Never throws: every failure is TF Serving's `{"error": "…"}` with its status.
 */
export async function handleRestRequest(server: ModelServer, request: Request, options: RestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(options.cors ? CORS_HEADERS : {}) };
  let path: string;
  try {
    path = new URL(request.url).pathname;
  } catch {
    path = request.url;
  }
  const method = request.method.toUpperCase();
  try {
    if (method === 'OPTIONS' && options.cors) return new Response(null, { status: 204, headers: CORS_HEADERS });
    const promPath = options.prometheusPath ?? DEFAULT_PROMETHEUS_PATH;
    if (promPath !== false && path === promPath && method === 'GET') return await prometheus(server, options);
    if (!/^\/v1\//i.test(path)) {
      return new Response(stringifyJson({ error: `Not Found: no handler for ${method} ${path}` }), { status: 404, headers });
    }
    const route = parseRestPath(method, path);
    // The request's deadline goes with its predict: the server drops it unrun once past, and a worker
    // thread's client answers DEADLINE_EXCEEDED at the deadline even while the model computes.
    const deadline = options.timeoutMs && options.timeoutMs > 0 ? Date.now() + options.timeoutMs : undefined;
    const work = dispatch(server, route, request, options, deadline);
    const body = await withDeadline(work, options.timeoutMs);
    return new Response(body, { status: 200, headers });
  } catch (e) {
    const error = ServingError.from(e, 'INTERNAL');
    return new Response(stringifyJson({ error: error.message }), { status: httpStatusOf(error.code), headers });
  }
}

/**
 * The answer to a method no route takes and that a Fetch Request cannot even carry (TRACE, TRACK,
 * CONNECT): TF Serving's 400 "Malformed request" under /v1/, else 404, like any other unknown method.
 */
export function unroutableMethodResponse(method: string, url: string, options: RestOptions = {}): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', ...(options.cors ? CORS_HEADERS : {}) };
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const m = method.toUpperCase();
  if (!/^\/v1\//i.test(path)) return new Response(stringifyJson({ error: `Not Found: no handler for ${m} ${path}` }), { status: 404, headers });
  return new Response(stringifyJson({ error: malformed(m, path).message }), { status: 400, headers });
}

async function prometheus(server: ModelServer, options: RestOptions): Promise<Response> {
  const text = await server.prometheusMetrics();
  return new Response(text, {
    status: 200,
    headers: { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', ...(options.cors ? CORS_HEADERS : {}) },
  });
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (!timeoutMs || timeoutMs <= 0) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServingError('DEADLINE_EXCEEDED', `Deadline Exceeded: the request took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

async function dispatch(server: ModelServer, route: RestRoute, request: Request, options: RestOptions, deadline: number | undefined): Promise<string | ReadableStream<Uint8Array>> {
  const selector = { version: route.version, label: route.label, userId: userIdHeader(request) };
  switch (route.kind) {
    case 'status':
      // Like GetModelStatusImpl: a label-only request lists every version.
      return stringifyJson((await server.getModelStatus(route.model, route.version)) as unknown as JsonValue);
    case 'metadata':
      return stringifyJson((await server.getModelMetadata(route.model, selector)) as unknown as JsonValue);
    case 'predict':
      return predict(server, route.model, selector, await readBody(request, options), deadline);
    case 'classify':
    case 'regress':
      // Parsed without dense blocks, the body is plain JSON.
      return classifyOrRegress(server, route.kind, route.model, selector, (await readBody(request, options, false)) as { [key: string]: JsonValue });
  }
}

/** The `X-Tfjs-Serving-User` header, checked: INVALID_ARGUMENT when empty or longer than 256 characters. */
function userIdHeader(request: Request): string | undefined {
  const value = request.headers.get(USER_ID_HEADER);
  if (value === null) return undefined;
  const id = value.trim();
  if (id === '' || id.length > 256) throw new ServingError('INVALID_ARGUMENT', `header ${USER_ID_HEADER} must be a user id of 1 to 256 characters, got ${id.length} characters`);
  return id;
}

async function readBody(request: Request, options: RestOptions, dense = true): Promise<{ [key: string]: BodyValue }> {
  const bytes = await readBodyBytes(request, options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const doc = parseJsonBytes(bytes, { dense });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || doc instanceof DenseNumbers) {
    throw new ServingError('INVALID_ARGUMENT', `JSON Value: ${jsonForError(doc)} Is not object`);
  }
  if ('signature_name' in doc && typeof doc.signature_name !== 'string') {
    throw new ServingError('INVALID_ARGUMENT', `JSON Value: ${jsonForError(doc)} not formatted correctly. 'signature_name' key must be a string value.`);
  }
  return doc;
}

function signatureTensors(specs: readonly TensorSpec[]): SignatureTensor[] {
  return specs.map((t) => ({ key: t.key, tfDtype: t.tfDtype, shape: t.shape ? [...t.shape] : undefined }));
}

async function predict(
  server: ModelServer,
  model: string,
  selector: { version?: number; label?: string; userId?: string },
  body: { [key: string]: BodyValue },
  deadline: number | undefined,
): Promise<ReadableStream<Uint8Array>> {
  const signatureName = body.signature_name as string | undefined; // readBody checked it is a string when present
  // The version the request resolves to now, and its signature (TF Serving's GetInfoMap); the JSON is read
  // with it and the predict pinned to it (a swap in between: read again for the new version, once).
  return runOnPinnedVersion(server, model, selector, signatureName || undefined, async ({ model: spec, signature }) => {
    const { format, tensors } = predictInputsFromJson(body, signatureTensors(signature.inputs), signatureName);
    const inputs = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data as number[] }]));
    const response = await server.predict({ model, version: spec.version, signatureName: spec.signatureName, inputs }, { entrypoint: 'REST', ...(deadline !== undefined ? { deadline } : {}) });
    // Streamed: written from the output arrays chunk by chunk as the socket takes them (checked before the first).
    return textStream(predictResponseChunks(response.outputs, format));
  });
}

async function classifyOrRegress(
  server: ModelServer,
  method: 'classify' | 'regress',
  model: string,
  selector: { version?: number; label?: string },
  body: { [key: string]: JsonValue },
): Promise<string> {
  const r = await runExamples(server, method, model, selector, body, 'REST');
  return method === 'classify' ? classifyResponseJson(r.outputs, r.exampleCount, r.signatureName) : regressResponseJson(r.outputs, r.exampleCount, r.signatureName);
}
