// TF Serving's REST API v1 over standard Fetch API objects: works in Node 20 (see node-http.ts),
// in pages and in Service Workers. Nothing here touches Node or the DOM.
import type { StatusCode } from '../core/status.js';
import { ServingError } from '../core/status.js';
import type { GetModelMetadataResponse } from '../server/api-types.js';
import type { ModelServer } from '../server/model-server.js';
import type { ModelStore } from '../storage/model-store.js';
import type { ParseSpecJson } from './examples.js';
import { classifyResponseJson, examplesFromJson, featureTensors, parseSpecFromModelJson, regressResponseJson } from './examples.js';
import type { JsonValue } from './json.js';
import { stringifyJson } from './json.js';
import { DEFAULT_MAX_BODY_BYTES, readBodyBytes } from './body.js';
import { DenseNumbers } from './dense-numbers.js';
import type { BodyValue } from './json-bytes.js';
import { parseJsonBytes } from './json-bytes.js';
import type { SignatureTensor } from './tensor-json.js';
import { jsonForError, predictInputsFromJson, predictResponseJson } from './tensor-json.js';
import type { RestRoute } from './url.js';
import { malformed, parseRestPath } from './url.js';

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
const SERVING_DEFAULT = 'serving_default';
const MODEL_JSON = 'model.json';

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

const CORS_HEADERS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'POST, GET',
  'Access-Control-Allow-Headers': 'Content-Type',
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
    const work = dispatch(server, route, request, options);
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
  const fn = (server as { prometheusMetrics?: () => string | Promise<string> }).prometheusMetrics;
  if (typeof fn !== 'function') {
    return new Response(stringifyJson({ error: 'this ModelServer exports no Prometheus metrics' }), {
      status: 404,
      headers: { 'Content-Type': 'application/json', ...(options.cors ? CORS_HEADERS : {}) },
    });
  }
  const text = await fn.call(server);
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

async function dispatch(server: ModelServer, route: RestRoute, request: Request, options: RestOptions): Promise<string> {
  const selector = { version: route.version, label: route.label };
  switch (route.kind) {
    case 'status':
      // Like GetModelStatusImpl: a label-only request lists every version.
      return stringifyJson((await server.getModelStatus(route.model, route.version)) as unknown as JsonValue);
    case 'metadata':
      return stringifyJson((await server.getModelMetadata(route.model, selector)) as unknown as JsonValue);
    case 'predict':
      return predict(server, route.model, selector, await readBody(request, options));
    case 'classify':
    case 'regress':
      return classifyOrRegress(server, route.kind, route.model, selector, (await readBody(request, options, false)) as { [key: string]: JsonValue });
  }
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

interface SignatureDefJson {
  inputs?: Record<string, TensorInfoJson>;
  outputs?: Record<string, TensorInfoJson>;
  method_name?: string;
}
interface TensorInfoJson {
  dtype?: string;
  tensor_shape?: { dim?: Array<{ size?: string | number }>; unknown_rank?: boolean };
  name?: string;
}

function signatureTensors(infos: Record<string, TensorInfoJson> | undefined): SignatureTensor[] {
  return Object.entries(infos ?? {}).map(([key, info]) => ({
    key,
    tfDtype: info.dtype ?? 'DT_INVALID',
    shape: !info.tensor_shape || info.tensor_shape.unknown_rank ? undefined : (info.tensor_shape.dim ?? []).map((d) => Number(d.size ?? -1)),
  }));
}

/** The version a request resolves to now, and its signature (GetInfoMap). */
async function resolveSignature(
  server: ModelServer,
  model: string,
  selector: { version?: number; label?: string },
  signatureName: string | undefined,
): Promise<{ version: number; name: string; def: SignatureDefJson }> {
  const meta: GetModelMetadataResponse = await server.getModelMetadata(model, selector);
  const name = signatureName || SERVING_DEFAULT;
  const defs = meta.metadata.signature_def.signature_def as Record<string, SignatureDefJson>;
  const def = defs[name];
  if (!def) throw new ServingError('INVALID_ARGUMENT', `Serving signature name: "${name}" not found in signature def`);
  return { version: Number(meta.model_spec.version), name, def };
}

async function predict(server: ModelServer, model: string, selector: { version?: number; label?: string }, body: { [key: string]: BodyValue }): Promise<string> {
  const signatureName = body.signature_name as string | undefined;
  const { version, name, def } = await resolveSignature(server, model, selector, signatureName);
  const { format, tensors } = predictInputsFromJson(body, signatureTensors(def.inputs), signatureName);
  const inputs = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.data as number[] }]));
  // Pinned to the version whose signature read the JSON (a swap in between gives NOT_FOUND, never a mismatch).
  const response = await server.predict({ model, version, signatureName: name, inputs }, { entrypoint: 'REST' });
  return predictResponseJson(response.outputs, format);
}

async function classifyOrRegress(
  server: ModelServer,
  method: 'classify' | 'regress',
  model: string,
  selector: { version?: number; label?: string },
  body: { [key: string]: JsonValue },
): Promise<string> {
  const signatureName = body.signature_name as string | undefined;
  const examples = examplesFromJson(body, method);
  const { version, name, def } = await resolveSignature(server, model, selector, signatureName);
  const spec = await parseSpecOf(server, model, version, name, def);
  const features = featureTensors(examples, spec);
  const inputKeys = new Set(Object.keys(def.inputs ?? {}));
  for (const key of Object.keys(features)) {
    if (!inputKeys.has(key)) {
      throw new ServingError('FAILED_PRECONDITION', `signature "${name}" of model ${model} version ${version}: its parse spec feeds feature "${key}", but the signature has no input of that name (inputs: ${[...inputKeys].join(', ')})`);
    }
  }
  const inputs = Object.fromEntries(Object.entries(features).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: t.data as number[] }]));
  const response = await server.predict({ model, version, signatureName: name, inputs }, { entrypoint: 'REST' });
  return method === 'classify' ? classifyResponseJson(response.outputs, examples.length, name) : regressResponseJson(response.outputs, examples.length, name);
}

const specCache = new WeakMap<object, Map<string, { committedAt: string; json: unknown }>>();

/**
 * The parse spec of signature `name`: read from the version's model.json in the server's store when
 * it has one (a LocalModelServer); else (a worker client) derived from the signature's metadata for
 * classify/regress signatures, every feature required.
 */
async function parseSpecOf(server: ModelServer, model: string, version: number, name: string, def: SignatureDefJson): Promise<ParseSpecJson> {
  const where = `signature "${name}" of model ${model} version ${version}`;
  const store = (server as { store?: ModelStore }).store;
  if (store && typeof store.readFile === 'function' && typeof store.getVersion === 'function') {
    const record = await store.getVersion(model, version);
    if (record) {
      let cache = specCache.get(server);
      if (!cache) specCache.set(server, (cache = new Map()));
      const key = `${model}\0${version}`;
      let entry = cache.get(key);
      if (!entry || entry.committedAt !== record.committedAt) {
        const text = new TextDecoder().decode(await store.readFile(model, version, MODEL_JSON));
        entry = { committedAt: record.committedAt, json: JSON.parse(text) as unknown };
        cache.set(key, entry);
      }
      const spec = parseSpecFromModelJson(entry.json, name);
      if (!spec) {
        throw new ServingError(
          'FAILED_PRECONDITION',
          `${where} takes no tf.Example input: its model.json has no userDefinedMetadata.signatures["${name}"].parseSpec. ` +
            'Classify and regress need the parse spec the tfjs-serving converter records for signatures that parse tf.Example ' +
            '(convert the SavedModel with `tfjs-serving convert --signature_name all`); use :predict for tensor inputs.',
        );
      }
      return spec;
    }
  }
  const method = def.method_name ?? '';
  const inputs = signatureTensors(def.inputs);
  if (!/\/(classify|regress)$/.test(method) || inputs.length === 0 || (inputs.length === 1 && inputs[0]!.tfDtype === 'DT_STRING' && inputs[0]!.key === 'inputs')) {
    throw new ServingError(
      'FAILED_PRECONDITION',
      `${where}: no parse spec is reachable through this ModelServer (no local store), and the signature does not look like converted tf.Example features (method ${JSON.stringify(method)})`,
    );
  }
  return {
    features: inputs.map((t) => {
      if (!t.shape || t.shape.length === 0) throw new ServingError('FAILED_PRECONDITION', `${where}: input ${t.key} has no batch dimension to derive a feature shape from`);
      const dtype = t.tfDtype === 'DT_STRING' ? 'string' : /INT/.test(t.tfDtype) ? 'int32' : 'float32';
      return { key: t.key, dtype, shape: t.shape.slice(1).map((d) => Math.max(d, 1)), defaultValue: null };
    }),
  };
}
