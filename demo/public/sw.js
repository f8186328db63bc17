// The demo's Service Worker (a module): TF Serving's REST API answered on the device by the page's
// ModelServer (the library's workbox route), plus an app-shell cache so the demo opens offline: every
// same-origin GET of the app (page, bundle, worker, WASM) goes to the network first and falls back to
// the copy cached on an earlier visit. The model repository is not cached here: versions live in
// IndexedDB, where the ModelServer keeps them.
import { registerModelServerRoute } from '/lib/tfjs-serving.sw-route.js';

const CACHE = 'tfjs-serving-demo-shell-v1';
const PASS_THROUGH = ['/repo/', '/v1/', '/admin/', '/monitoring/'];

registerModelServerRoute();

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (PASS_THROUGH.some((p) => url.pathname.startsWith(p))) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const response = await fetch(event.request);
        if (response.ok) await cache.put(event.request, response.clone());
        return response;
      } catch (error) {
        const cached = await cache.match(event.request);
        if (cached) return cached;
        throw error;
      }
    })(),
  );
});
