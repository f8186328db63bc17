// Node's http server in front of handleRestRequest: IncomingMessage → Request, Response → the socket,
// bodies streamed both ways, and a graceful close that stops accepting and lets in-flight requests finish.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { ModelServer } from '../server/model-server.js';
import type { RestOptions } from './handler.js';
import { handleRestRequest } from './handler.js';

export interface RestServer {
  readonly http: Server;
  /** The port it listens on. */
  readonly port: number;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** Stops accepting connections and resolves when every in-flight request has been answered. */
  close(): Promise<void>;
}

/** Serves TF Serving's REST API for `server` on `port` (0 picks a free one) and `host` (default 0.0.0.0). */
export async function startRestServer(server: ModelServer, options: RestOptions & { port?: number; host?: string } = {}): Promise<RestServer> {
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const http = createServer((req, res) => {
    inFlight++;
    void answer(server, req, res, options).finally(() => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
      http.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    http,
    port: (http.address() as AddressInfo).port,
    get inFlight() {
      return inFlight;
    },
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
        http.closeIdleConnections();
        await stopped;
      })();
      return closed;
    },
  };
}

async function answer(server: ModelServer, req: IncomingMessage, res: ServerResponse, options: RestOptions): Promise<void> {
  try {
    const method = req.method ?? 'GET';
    const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
    }
    const hasBody = method !== 'GET' && method !== 'HEAD';
    const request = new Request(url, {
      method,
      headers,
      body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handleRestRequest(server, request, options);
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    // One request per connection: nothing lingers when the server shuts down.
    out.connection = 'close';
    res.writeHead(response.status, out);
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
      }
    }
    res.end();
  } catch (e) {
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: `internal error: ${(e as Error)?.message ?? String(e)}` }));
    } else {
      res.destroy();
    }
  }
}
