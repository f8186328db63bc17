import * as tf from '@tensorflow/tfjs';
import { ServingError, messageOf } from '../core/status.js';
import { patchWasmKernels } from './wasm-kernel-fixes.js';

/** TF.js backends tfjs-serving knows how to bring up, fastest first. */
export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';

export interface BackendOptions {
  /** Where the WASM binaries are (a URL prefix ending in '/'); by default next to the bundle, or the package in Node. */
  wasmPaths?: string;
}

declare const __TFJS_SERVING_BUNDLED__: boolean | undefined;

/**
 * Where the WASM binaries are by default: beside the browser bundle (dist/browser/, which this module
 * is part of once bundled), each named the one way bundlers recognize an asset, so an app that bundles
 * `tfjs-serving/browser` ships them too (the comment keeps this library's own build from doing it; the
 * minifier drops it). Unbundled, TF.js finds them itself (in Node, in its package). No threaded binary:
 * the library runs one wasm thread per worker (below).
 */
function defaultWasmPaths(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> | undefined {
  if (typeof __TFJS_SERVING_BUNDLED__ === 'undefined' || !__TFJS_SERVING_BUNDLED__) return undefined;
  const simd = new URL(/* @vite-ignore */ './tfjs-backend-wasm-simd.wasm', import.meta.url).href;
  return {
    'tfjs-backend-wasm.wasm': new URL(/* @vite-ignore */ './tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': simd,
    // TF.js wants an entry for every binary; the threaded one is never fetched (threads are off).
    'tfjs-backend-wasm-threaded-simd.wasm': simd,
  };
}

/** Registers a backend's module; the webgpu backend registers itself only where `navigator.gpu` exists. */
const registrars: Record<BackendName, (o: BackendOptions) => Promise<void>> = {
  webgpu: async () => {
    const gpu = typeof navigator === 'undefined' ? undefined : (navigator as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (!gpu) throw new Error('navigator.gpu is not available');
    // TF.js would fail on a null adapter with a TypeError; say what is really missing.
    if (!(await gpu.requestAdapter())) throw new Error('navigator.gpu.requestAdapter() found no WebGPU adapter');
    await import('@tensorflow/tfjs-backend-webgpu');
  },
  wasm: async (o) => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Kernels that answer garbage above rank 6 (XNNPACK) or cast to bool wrong: fixed in place.
    patchWasmKernels();
    const paths = o.wasmPaths ?? defaultWasmPaths();
    if (paths) wasm.setWasmPaths(paths);
    // A cross-origin isolated page (COOP/COEP, for SharedArrayBuffer) would make TF.js pick its threaded
    // build, whose pthread workers are made from the factory's source text: once bundled (renamed
    // identifiers, module scope) they die with "ReferenceError: e is not defined" and the backend never
    // comes up. One thread per worker, everywhere; `inferenceWorkers` uses more cores.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  },
  webgl: async () => undefined,
  cpu: async () => undefined,
};

export const DEFAULT_BROWSER_BACKENDS: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];
export const DEFAULT_NODE_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

export function defaultBackends(): readonly BackendName[] {
  const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
  return isNode ? DEFAULT_NODE_BACKENDS : DEFAULT_BROWSER_BACKENDS;
}

/**
 * Tries the backends in order; the first that initializes wins and is returned. Fails with one
 * UNAVAILABLE error listing why each one failed, like ORT's resolveBackend.
 */
export async function selectBackend(order: readonly BackendName[] = defaultBackends(), options: BackendOptions = {}): Promise<BackendName> {
  if (order.length === 0) throw new ServingError('INVALID_ARGUMENT', 'backends must list at least one of webgpu, wasm, webgl, cpu');
  // TF.js has one engine per realm: a second server that wants the backend already running keeps it.
  if (tf.getBackend() === order[0]) return order[0]!;
  const failures: string[] = [];
  for (const name of order) {
    if (!(name in registrars)) {
      failures.push(`[${String(name)}] unknown backend`);
      continue;
    }
    try {
      await registrars[name](options);
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      failures.push(`[${name}] failed to initialize`);
    } catch (e) {
      failures.push(`[${name}] ${messageOf(e)}`);
    }
  }
  throw new ServingError('UNAVAILABLE', `no TF.js backend could be initialized: ${failures.join('; ')}`);
}
