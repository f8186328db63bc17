import { Workbox } from 'workbox-window';
import type { ModelServer } from '../server/model-server.js';
import { ServingError } from '../core/status.js';
import { httpStatusOf } from './handler.js';
import type { RestOptions } from './handler.js';
import { restEndpointOf } from './rest-endpoint.js';
import type { RestRequestMessage, RestResponseMessage } from './service-worker-protocol.js';

/**
 * In a page: answers the TF Serving REST requests that the Service Worker route
 * (`registerModelServerRoute`) hands over, with this page's ModelServer. Returns a function that stops.
 */
export function answerServiceWorkerRequests(server: ModelServer, options: RestOptions = {}): () => void {
  const container = navigator.serviceWorker;
  const onMessage = async (e: MessageEvent<RestRequestMessage>) => {
    if (e.data?.type !== 'tfjs-serving:rest-request') return;
    const port = e.ports[0];
    if (!port) return;
    const { url, method, headers, body } = e.data;
    const request = new Request(url, { method, headers: headers as [string, string][], body });
    // A worker client answers in its worker (off this thread); a local server here.
    let response: Response;
    try {
      response = await restEndpointOf(server)(request, options);
    } catch (err) {
      const e2 = ServingError.from(err, 'UNAVAILABLE');
      response = new Response(JSON.stringify({ error: e2.message }), { status: httpStatusOf(e2.code), headers: { 'Content-Type': 'application/json' } });
    }
    const bytes = await response.arrayBuffer();
    const message: RestResponseMessage = { type: 'tfjs-serving:rest-response', status: response.status, headers: [...response.headers], body: bytes };
    port.postMessage(message, [bytes]);
  };
  container.addEventListener('message', onMessage);
  container.startMessages();
  return () => container.removeEventListener('message', onMessage);
}

/**
 * Registers the Service Worker that carries the REST route (e.g. the bundle's `tfjs-serving.sw.js`,
 * served with `Service-Worker-Allowed: /` when it lives below the page's scope) with workbox-window,
 * and resolves once it controls the page.
 */
export async function registerRestServiceWorker(scriptUrl: string | URL, options: { scope?: string } = {}): Promise<Workbox> {
  const wb = new Workbox(String(scriptUrl), { type: 'module', scope: options.scope ?? '/' });
  await wb.register();
  if (!navigator.serviceWorker.controller) {
    await new Promise<void>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }));
  }
  return wb;
}
