/// <reference lib="webworker" />
// The Service Worker of the browser bundle (dist/browser/tfjs-serving.sw.js): answers TF Serving's REST
// API on the device by handing requests to the page's ModelServer. Takes control at once.
import { registerModelServerRoute } from '../src/rest/service-worker-route.js';

const sw = self as unknown as ServiceWorkerGlobalScope; // this file is a Service Worker's entry
registerModelServerRoute();
sw.addEventListener('install', () => void sw.skipWaiting());
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));
