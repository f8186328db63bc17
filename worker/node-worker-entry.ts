// The Node worker_threads entry: hosts the serving core for `serve`'s NodeWorkerModelServer, off the
// HTTP thread. Local directories and s3:// base paths are readable here; `storeDir` (from workerData)
// keeps versions in a FileSystemModelStore, as `--model_store_dir` asks.
import { parentPort, workerData } from 'node:worker_threads';
import { registerFileSystemSource } from '../src/server/file-system-source-factory.js';
import { registerS3Source } from '../src/server/s3-source-factory.js';
import { FileSystemModelStore } from '../src/storage/file-system-model-store.js';
import type { ClientMessage, WorkerMessage } from '../src/worker-client/protocol.js';
import type { NodeWorkerData } from '../src/worker-client/node-worker-spawner.js';
import { WorkerHost } from './worker-host.js';
import type { HostScope } from './worker-host.js';

const port = parentPort;
if (!port) throw new Error('node-worker-entry runs in a worker_threads Worker (started by nodeWorkerSpawner)');
registerFileSystemSource();
registerS3Source();
const data: NodeWorkerData = typeof workerData === 'object' && workerData !== null ? workerData : {};

const scope: HostScope = {
  postMessage(message: WorkerMessage, transfer?: Transferable[]) {
    // The protocol transfers only ArrayBuffers, which is what Node's transfer list takes.
    port.postMessage(message, (transfer ?? []) as unknown as ArrayBuffer[]);
  },
  addEventListener(_type: 'message', listener: (e: MessageEvent<ClientMessage>) => void) {
    // The host reads only `data` of the event.
    port.on('message', (data: ClientMessage) => listener({ data } as MessageEvent<ClientMessage>));
  },
  close() {
    process.exit(1); // ends this thread (the host reported `fatal` first)
  },
};
new WorkerHost(scope, data.storeDir ? { store: new FileSystemModelStore(data.storeDir) } : {});
