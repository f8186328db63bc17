/** Page entry: a LocalModelServer on the page's main thread with the default (IndexedDB) store. */
import { LocalModelServer, ServingError } from '../../../src/index.js';
import type { ModelConfig, ModelServerOptions } from '../../../src/index.js';
import { registerPageTests } from '../page-runtime.js';

let server: LocalModelServer | undefined;
const events: string[] = [];

registerPageTests({
  start: async (arg) => {
    const { basePath, modelVersionPolicy, ...rest } = arg as { basePath: string } & Partial<ModelServerOptions & ModelConfig>;
    await server?.close();
    server = await LocalModelServer.start({
      modelConfigList: [{ name: 'm', basePath, modelVersionPolicy }],
      pollIntervalMs: 0,
      backends: ['wasm'],
      wasmPaths: '/wasm/',
      ...rest,
    });
    server.addEventListener('statechange', (e) => {
      const ev = e as unknown as { version: number; state: string; status: { error_code: string } };
      events.push(`${ev.version}:${ev.state}:${ev.status.error_code}`);
    });
    return { backend: server.backend, store: server.store.kind, status: (await server.getModelStatus('m')) };
  },
  predict: async (x) => {
    const r = await server!.predict({ model: 'm', inputs: { 'dense_dense1_input:0': [[Number(x)]] } });
    return { version: r.model.version, y: (r.outputs['Identity:0']!.data as Float32Array)[0] };
  },
  pollNow: async () => {
    await server!.pollNow();
    return { status: (await server!.getModelStatus('m')), source: (await server!.sourceState('m')), stored: await server!.store.listVersions('m') };
  },
  close: async () => {
    await server?.close();
    server = undefined;
    return events.splice(0);
  },
  errorShape: async () => {
    try {
      await server!.predict({ model: 'm', inputs: { nope: [[1]] } });
      return null;
    } catch (e) {
      return { isServingError: e instanceof ServingError, code: (e as ServingError).code };
    }
  },
});
