// Importing this module lets `ModelServer.start` run the manager in a Web Worker (the default in pages).
import { setWorkerModelServerFactory } from '../server/model-server.js';
import { WorkerModelServer } from './worker-model-server.js';

setWorkerModelServerFactory((options) => WorkerModelServer.start(options));
