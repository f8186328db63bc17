/** Module Web Worker: runs the IndexedDbModelStore conformance cases where there is no `window`. */
import { runAllConformanceCases } from './idb-harness.js';

// Typed loosely on purpose: the project compiles against the DOM lib, not the WebWorker lib.
const scope = globalThis as unknown as {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = async (event) => {
  if (event.data !== 'conformance') return;
  const results = await runAllConformanceCases('worker');
  scope.postMessage({ hasWindow: typeof (globalThis as { window?: unknown }).window !== 'undefined', results });
};
scope.postMessage('ready');
