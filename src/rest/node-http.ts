// Node's http server in front of handleRestRequest: IncomingMessage → Request, Response → the socket,
// bodies streamed both ways, and a drain that loses nothing: on close it first lets the connections
// already in the kernel's accept queue in, then stops listening, fails readiness, and answers every
// request it has received (mid-body, queued behind a running model, running) before it resolves.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { ModelServer } from '../server/model-server.js';
import type { RestOptions } from './handler.js';
import { handleRestRequest, unroutableMethodResponse } from './handler.js';
import { LIVENESS_PATH, READINESS_PATH, livenessResponse, readinessResponse } from './readiness.js';

export { LIVENESS_PATH, READINESS_PATH } from './readiness.js';

export interface DrainReport {
  /** Requests being answered when the listener closed. */
  readonly inFlightAtClose: number;
  /** Requests answered from the start of the drain to its end (exact). */
  readonly answered: number;
}

export interface RestServer {
  readonly http: Server;
  /** The port it listens on. */
  readonly port: number;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** True once close() has started: readiness fails, no new connections once the listener closes. */
  readonly draining: boolean;
  /**
   * Stops accepting connections (after taking in those already queued by the kernel), answers every
   * request received, and resolves when the last one is answered. `onListenerClosed` is told how
   * many requests are in flight at the moment the listener closes.
   */
  close(onListenerClosed?: (inFlight: number) => void): Promise<DrainReport>;
}

/** How long a drain keeps taking connections from the accept queue at most. */
const ACCEPT_QUEUE_DRAIN_MS = 2000;

/** One turn of the event loop with a poll phase (timers run after I/O callbacks). */
function loopTurn(ms = 10): Promise<void> {
  return new Promise((resolve) => setTimeout(() => setImmediate(resolve), ms));
}

/** Serves TF Serving's REST API for `server` on `port` (0 picks a free one) and `host` (default 0.0.0.0). */
/** Options of the Node REST server: the handler's, the address, and what readiness means. */
export interface RestServerOptions extends RestOptions {
  port?: number;
  host?: string;
  /**
   * The server's `modelLoading`: with `'on-demand'`, `/readyz` counts a model ready once a version is
   * stored (it loads when first asked for), not only when one is AVAILABLE. Default `'eager'`.
   */
  modelLoading?: 'eager' | 'on-demand';
}

export async function startRestServer(server: ModelServer, options: RestServerOptions = {}): Promise<RestServer> {
  let inFlight = 0;
  let draining = false;
  let answeredWhileDraining = 0;
  let idle: (() => void) | undefined;
  let connections = 0;
  const http = createServer((req, res) => {
    inFlight++;
    void answer(server, req, res, options, () => draining).finally(() => {
      inFlight--;
      if (draining) answeredWhileDraining++;
      if (inFlight === 0) idle?.();
    });
  });
  http.on('connection', () => connections++);
  http.on('clientError', answerUnparsable);
  // CONNECT never reaches the request handler: answered like other unknown methods.
  http.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const path = (req.url ?? '/').split('?')[0]!; // split always gives at least one part
    const body = JSON.stringify({ error: /^\/v1\//i.test(path) ? `Malformed request: CONNECT ${path}` : `Not Found: no handler for CONNECT ${path}` });
    const status = /^\/v1\//i.test(path) ? '400 Bad Request' : '404 Not Found';
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => {
      http.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<DrainReport> | undefined;
  return {
    http,
    port: (http.address() as AddressInfo).port,
    get inFlight() {
      return inFlight;
    },
    get draining() {
      return draining;
    },
    close(onListenerClosed) {
      closed ??= (async () => {
        draining = true;
        // Connections the kernel has already completed wait in the accept queue, and libuv takes only
        // a few per poll phase: keep taking them until a few turns bring none (closing the listener
        // first would reset them), within ACCEPT_QUEUE_DRAIN_MS. Then stop listening.
        const until = Date.now() + ACCEPT_QUEUE_DRAIN_MS;
        for (;;) {
          const seen = connections;
          await loopTurn(2);
          await loopTurn(2);
          await loopTurn(2);
          if (connections === seen || Date.now() > until) break;
        }
        // net.Server's close stops listening without http.Server's closeIdleConnections(), which would
        // reset the connections just accepted whose request bytes have not been read yet.
        const stopped = new Promise<void>((resolve) => NetServer.prototype.close.call(http, () => resolve()));
        // Bytes already on accepted sockets become requests in the next poll phases.
        await loopTurn();
        await loopTurn();
        onListenerClosed?.(inFlight);
        const inFlightAtClose = inFlight;
        // Sockets with no request on them are dropped; the rest close after their answer (connection: close).
        http.closeIdleConnections();
        if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
        http.closeIdleConnections();
        await stopped;
        return { inFlightAtClose, answered: answeredWhileDraining };
      })();
      return closed;
    },
  };
}

/** Methods the Fetch API refuses to carry in a Request. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

async function answer(server: ModelServer, req: IncomingMessage, res: ServerResponse, options: RestServerOptions, draining: () => boolean): Promise<void> {
  try {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    let response: Response;
    if (FORBIDDEN_METHODS.has(method)) {
      response = unroutableMethodResponse(method, url, options);
    } else if (method === 'GET' && (req.url ?? '').split('?')[0] === READINESS_PATH) {
      response = await readinessResponse(server, draining(), options.modelLoading);
    } else if (method === 'GET' && (req.url ?? '').split('?')[0] === LIVENESS_PATH) {
      response = livenessResponse();
    } else {
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
      response = await handleRestRequest(server, request, options);
    }
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    // One request per connection: nothing lingers when the server shuts down.
    out.connection = 'close';
    res.writeHead(response.status, out);
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await drainedOrClosed(res);
        if (res.destroyed) return;
      }
    }
    // Counted as answered when the response is written out, or the client has gone.
    await new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      res.end();
    });
  } catch (e) {
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: `internal error: ${(e as Error)?.message ?? String(e)}` }));
    } else {
      res.destroy();
    }
  }
}

/**
 * A request Node's parser refuses (an unknown method such as TRACK, a bad header): a JSON 400 like
 * every other malformed request (431 for headers too large, 408 for a request too slow), not Node's
 * empty default.
 */
function answerUnparsable(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const body = JSON.stringify({ error: `Malformed request: the HTTP request could not be parsed (${err.code ?? err.message})` });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
