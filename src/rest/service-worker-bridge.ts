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
 *
 * A Service Worker may control only URLs under its own directory unless its response carries
 * `Service-Worker-Allowed`. On a static host that cannot send that header, serve a Service Worker from the
 * root scope instead — a `/sw.js` that imports `registerModelServerRoute` from the bundle's
 * `tfjs-serving.sw-route.js`, calls it and claims its clients — and register that (docs/service-worker.md).
 * A registration that fails says which of these to do.
 */
export async function registerRestServiceWorker(scriptUrl: string | URL, options: { scope?: string } = {}): Promise<Workbox> {
  const scope = options.scope ?? '/';
  const script = new URL(String(scriptUrl), location.href);
  if (!('serviceWorker' in navigator)) {
    throw new ServingError(
      'FAILED_PRECONDITION',
      `cannot register the Service Worker ${script.href}: this page has no navigator.serviceWorker (Service Workers need a secure context: https:// or http://localhost / 127.0.0.1, and a browser or mode that allows them)`,
    );
  }
  const wb = new Workbox(String(scriptUrl), { type: 'module', scope });
  try {
    await wb.register();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const scopeUrl = new URL(scope, location.href);
    const scriptDir = new URL('./', script);
    const outOfScope = /max scope|Service-Worker-Allowed/i.test(message);
    const what = outOfScope
      ? `it lives in ${scriptDir.pathname} but is asked to control ${scopeUrl.pathname}. Either serve ${script.pathname} with the HTTP header ` +
        `"Service-Worker-Allowed: ${scopeUrl.pathname}", or, where the host cannot send headers (GitHub Pages, a bucket), serve a Service Worker ` +
        `from the root scope instead: a file ${scopeUrl.pathname}sw.js that imports registerModelServerRoute from '${new URL('tfjs-serving.sw-route.js', scriptDir).pathname}', ` +
        `calls it and claims its clients (the three lines are in docs/service-worker.md), and register that: registerRestServiceWorker('${scopeUrl.pathname}sw.js')`
      : `check that ${script.href} is served (HTTP 200) as JavaScript from this origin, over https:// or from localhost`;
    throw new ServingError('FAILED_PRECONDITION', `cannot register the Service Worker ${script.pathname} for scope ${scopeUrl.pathname}: ${what}. The browser said: ${message}`, { cause: e });
  }
  if (!navigator.serviceWorker.controller) {
    await new Promise<void>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }));
  }
  return wb;
}
