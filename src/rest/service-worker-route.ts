/// <reference lib="webworker" />
import { registerRoute } from 'workbox-routing';
import type { RouteMatchCallback } from 'workbox-core';
import type { RestRequestMessage, RestResponseMessage } from './service-worker-protocol.js';

export interface ModelServerRouteOptions {
  /** Path prefixes answered on the device. Default TF Serving's: `/v1/models/` and the Prometheus path. */
  prefixes?: string[];
  /** How long to wait for the page's answer, in ms. Default 30000 (TF Serving's REST timeout). */
  timeoutMs?: number;
}

/**
 * In a Service Worker: a workbox route that answers TF Serving REST requests (`fetch('/v1/models/m:predict')`)
 * on the device, offline too, by handing them to the page that sent them, where the page's ModelServer
 * (its Web Worker) answers through `answerServiceWorkerRequests`. A page that does not answer gets TF
 * Serving's UNAVAILABLE error (HTTP 503).
 */
export function registerModelServerRoute(options: ModelServerRouteOptions = {}): void {
  const prefixes = (options.prefixes ?? ['/v1/models/', '/monitoring/prometheus/metrics']).map((p) => p.toLowerCase());
  const timeoutMs = options.timeoutMs ?? 30_000;
  const sw = self as unknown as ServiceWorkerGlobalScope;
  const match: RouteMatchCallback = ({ url, sameOrigin }) => sameOrigin && prefixes.some((p) => url.pathname.toLowerCase().startsWith(p));
  const handler = ({ request, event }: { request: Request; event: ExtendableEvent }) => forwardToPage(sw, request, event as FetchEvent, timeoutMs);
  for (const method of ['GET', 'POST'] as const) registerRoute(match, handler, method);
}

async function forwardToPage(sw: ServiceWorkerGlobalScope, request: Request, event: FetchEvent, timeoutMs: number): Promise<Response> {
  const client = event.clientId ? await sw.clients.get(event.clientId) : undefined;
  if (!client) return unavailable('no page is there to answer: tfjs-serving REST requests are answered by the page that sends them');
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : await request.arrayBuffer();
  const channel = new MessageChannel();
  const answer = new Promise<RestResponseMessage | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    channel.port1.onmessage = (e: MessageEvent<RestResponseMessage>) => {
      clearTimeout(timer);
      resolve(e.data);
    };
  });
  const message: RestRequestMessage = { type: 'tfjs-serving:rest-request', url: request.url, method: request.method, headers: [...request.headers], body };
  client.postMessage(message, body ? [channel.port2, body] : [channel.port2]);
  const res = await answer;
  channel.port1.close();
  if (!res) return unavailable(`the page did not answer within ${timeoutMs} ms; is answerServiceWorkerRequests(server) running in it?`);
  return new Response(res.body, { status: res.status, headers: res.headers as [string, string][] });
}

function unavailable(message: string): Response {
  return new Response(JSON.stringify({ error: message }), { status: 503, headers: { 'Content-Type': 'application/json' } });
}
