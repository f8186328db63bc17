/**
 * Plain TF.js in a hand-written module worker, for the browser benchmark's worker round trip: what a web
 * developer would write without the library (post the input, `execute` it here, post the outputs back,
 * transferred). The library's own share of its worker round trip is what it adds over this.
 *
 * Messages: `{kind: 'load', backend, model, shape}` → `{kind: 'loaded', backend}`; `{kind: 'run', input}` →
 * `{kind: 'outputs', outputs}`; any failure → `{kind: 'error', message}`.
 */
import * as tf from '@tensorflow/tfjs';

type Request = { kind: 'load'; backend: string; model: string; shape: number[] } | { kind: 'run'; input: Float32Array };

let model: tf.GraphModel | undefined;
let shape: number[] = [];

async function load(backend: string, url: string): Promise<string> {
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(new URL('/lib/', location.href).href); // the same binaries the library's worker uses
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, like the library
  } else if (backend === 'webgpu') {
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend(${backend}) failed`);
  await tf.ready();
  model = await tf.loadGraphModel(url);
  return tf.getBackend();
}

async function run(input: Float32Array): Promise<Float32Array[]> {
  const x = tf.tensor(input, shape, 'float32');
  const out = model!.execute(x); // loaded before the first run
  const outs = Array.isArray(out) ? out : [out];
  const values = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[]; // the models here answer float32
  x.dispose();
  tf.dispose(outs);
  return values;
}

// This file is a module Web Worker's entry: `self` is a DedicatedWorkerGlobalScope.
const scope = self as unknown as { onmessage: (e: MessageEvent<Request>) => void; postMessage(message: unknown, transfer?: Transferable[]): void };

scope.onmessage = async (e: MessageEvent<Request>) => {
  const msg = e.data;
  try {
    if (msg.kind === 'load') {
      shape = msg.shape;
      scope.postMessage({ kind: 'loaded', backend: await load(msg.backend, msg.model) });
    } else {
      const outputs = await run(msg.input);
      scope.postMessage({ kind: 'outputs', outputs }, outputs.map((o) => o.buffer));
    }
  } catch (err) {
    scope.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
