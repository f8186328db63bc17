// The demo's Service Worker (bundled by demo/build-sw.ts into /sw.js, at the root scope, so it needs no
// Service-Worker-Allowed header):
//  - TF Serving's REST API answered on the device by the page's ModelServer (the library's workbox route);
//  - the app shell and every file of the library precached while it installs (workbox-precaching, with
//    the precache manifest written at build time), so after ONE visit the demo opens with the network off.
// The model repository is not cached here: versions live in IndexedDB, where the ModelServer keeps them.
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';
import { registerModelServerRoute } from '/lib/tfjs-serving.sw-route.js';

registerModelServerRoute();
cleanupOutdatedCaches();
// [{ url, revision }] for demo/public/** and dist/browser/**, replaced by demo/build-sw.ts.
precacheAndRoute(self.__WB_MANIFEST);

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
