import { ServingError } from '../core/status.js';
import type { ModelServer as ModelServerInterface } from './model-server-interface.js';
import type { ModelServerOptions } from './model-server-options.js';

/**
 * A TF Serving model server for TF.js graph models (the interface is in `model-server-interface.ts`;
 * this module adds `ModelServer.start`). The same API whether it runs in this realm or in a Web Worker.
 */
export interface ModelServer extends ModelServerInterface {}

/** True where `ModelServer.start` runs the manager in a Web Worker unless told otherwise: browser pages. */
export function workerByDefault(): boolean {
  return typeof window !== 'undefined' && typeof Worker !== 'undefined';
}

/** Starts a ModelServer whose manager runs in a Web Worker (the page-side client registers it). */
export type WorkerModelServerFactory = (options: ModelServerOptions) => Promise<ModelServer>;

let workerFactory: WorkerModelServerFactory | undefined;

/**
 * Registers how `ModelServer.start` runs the manager in a Web Worker. The page-side client
 * (`src/worker-client/`) registers itself when the browser entry (or the package's main entry) loads,
 * so this facade never imports the worker side.
 */
export function setWorkerModelServerFactory(factory: WorkerModelServerFactory): void {
  workerFactory = factory;
}

export const ModelServer = {
  /**
   * Starts serving: picks a backend, loads what the store already holds (offline), polls each
   * repository once, and resolves when every model's aspired versions are AVAILABLE or failed.
   * In a browser page the manager runs in a module Web Worker (`worker: false` keeps it on this thread).
   * Rejects with FAILED_PRECONDITION if a version label points at a version that is not AVAILABLE.
   */
  async start(options: ModelServerOptions): Promise<ModelServer> {
    if (options?.worker ?? workerByDefault()) {
      if (!workerFactory) {
        throw new ServingError('FAILED_PRECONDITION', 'worker mode needs the page-side worker client: import ModelServer from the browser bundle or from "tfjs-serving", or pass worker: false');
      }
      return workerFactory(options);
    }
    const { LocalModelServer } = await import('./local-model-server.js');
    return LocalModelServer.start(options);
  },
};
