/** Page entry for harness.browser.test.ts: proves the harness bundles TF.js and its backends for the browser. */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { registerPageTests } from '../page-runtime.js';

registerPageTests({
  /** 2×2 matMul on the named backend; `/wasm/` must serve tfjs-backend-wasm's dist folder for 'wasm'. */
  matMul: async (backend) => {
    if (backend === 'wasm') setWasmPaths('/wasm/');
    const okBackend = await tf.setBackend(String(backend));
    if (!okBackend) throw new Error(`tf.setBackend(${String(backend)}) returned false`);
    await tf.ready();
    const y = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    return { backend: tf.getBackend(), version: tf.version.tfjs, values: Array.from(await y.data()) };
  },
  gpuAdapter: async () => {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } }).gpu;
    const adapter = await gpu?.requestAdapter();
    return adapter ? { vendor: adapter.info?.vendor ?? '', architecture: adapter.info?.architecture ?? '' } : null;
  },
  fetchText: async (url) => {
    const res = await fetch(String(url));
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  },
});
