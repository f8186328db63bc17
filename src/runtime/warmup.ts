import { ServingError } from '../core/status.js';
import { describeJsonSyntaxError } from '../core/json-syntax.js';
import { WARMUP_FILE } from '../repository/graph-model-json.js';
import type { SignatureSpec } from './signature.js';
import type { TfjsServable } from './tfjs-servable.js';
import type { TensorInput } from './tensor.js';
import { sizeOf } from './tensor.js';
/** TF Serving replays at most this many warmup records. */
export const MAX_WARMUP_REQUESTS = 1000;

export interface WarmupRequest {
  signatureName?: string;
  inputs: Record<string, unknown>;
}

/** Parses `warmup.json`: `{"requests": [{"signatureName"?, "inputs": {...}}]}`. */
export function parseWarmupFile(text: string): WarmupRequest[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServingError('INVALID_ARGUMENT', `${WARMUP_FILE} is not valid JSON: ${describeJsonSyntaxError(text)}`);
  }
  const requests = (json as { requests?: unknown })?.requests;
  if (!Array.isArray(requests) || requests.some((r) => typeof r !== 'object' || r === null || typeof r.inputs !== 'object')) {
    throw new ServingError('INVALID_ARGUMENT', `${WARMUP_FILE} must be {"requests": [{"signatureName"?: string, "inputs": {...}}]}`);
  }
  return (requests as WarmupRequest[]).slice(0, MAX_WARMUP_REQUESTS);
}

/**
 * One request per signature, of zeros (or empty strings), with unknown dimensions set to 1. Returns
 * nothing for a signature with an input of unknown rank: there is no honest guess for it.
 */
export function synthesizeWarmupRequests(signatures: Iterable<SignatureSpec>, graphShapes: (name: string) => readonly number[] | undefined): WarmupRequest[] {
  const out: WarmupRequest[] = [];
  next: for (const sig of signatures) {
    const inputs: Record<string, TensorInput> = {};
    for (const input of sig.inputs) {
      const declared = graphShapes(input.name) ?? input.shape;
      if (declared === undefined) continue next;
      const shape = declared.map((d) => (d < 0 ? 1 : d));
      const n = sizeOf(shape);
      const dtype = input.dtype ?? 'float32';
      const data = dtype === 'string' ? new Array<string>(n).fill('') : dtype === 'bool' ? new Array<boolean>(n).fill(false) : new Array<number>(n).fill(0);
      inputs[input.key] = { dtype, shape, data };
    }
    out.push({ signatureName: sig.name, inputs });
  }
  return out;
}

/** Replays the requests; a failure fails the load, as in TF Serving. `onReplayed` is told after each. */
export async function runWarmup(servable: TfjsServable, requests: readonly WarmupRequest[], where: string, onReplayed?: (done: number, total: number) => void): Promise<number> {
  for (const [i, r] of requests.entries()) {
    if (i > 0) onReplayed?.(i, requests.length);
    const sig = servable.signature(r.signatureName, where);
    try {
      await servable.run(sig, servable.validate(sig, r.inputs, where));
    } catch (e) {
      throw ServingError.from(e, 'INVALID_ARGUMENT', `warmup request ${i} (signature ${sig.name}) failed: `);
    }
  }
  if (requests.length > 0) onReplayed?.(requests.length, requests.length);
  return requests.length;
}
