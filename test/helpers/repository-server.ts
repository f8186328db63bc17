// A real static HTTP server on 127.0.0.1 serving a model repository directory, with ETags on
// manifest.json and fault injection per path, for the source's end-to-end tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number }
  | { kind: 'reset'; afterBytes: number }
  | { kind: 'body'; body: string | Uint8Array }
  | { kind: 'delay'; ms: number };

export interface RequestRecord {
  readonly path: string;
  readonly status: number;
  readonly ifNoneMatch: string | undefined;
  /** Body bytes sent (0 for errors and 304s; those sent before the cut for a cut-off body). */
  readonly bytes: number;
}

export class RepositoryServer {
  readonly requests: RequestRecord[] = [];
  private readonly faults = new Map<string, Fault>();
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private constructor(
    readonly root: string,
    private readonly server: Server,
  ) {}

  /** Serves `root` on 127.0.0.1 (on `port`, e.g. to come back where a closed server was; default any). */
  static async start(root: string, port = 0): Promise<RepositoryServer> {
    let self: RepositoryServer | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    self = new RepositoryServer(root, server);
    server.on('connection', (s) => {
      self!.sockets.add(s);
      s.on('close', () => self!.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    self.port = (server.address() as AddressInfo).port;
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listeningPort(): number {
    return this.port;
  }

  /** URL of a model's base path in the repository. */
  modelUrl(name: string): string {
    return `${this.url}/${name}`;
  }

  /** Makes every request for `path` (e.g. `/m/2/model.json`) fail this way until cleared. */
  fault(path: string, fault: Fault): void {
    this.faults.set(path, fault);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  count(path: string, status?: number): number {
    return this.requests.filter((r) => r.path === path && (status === undefined || r.status === status)).length;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const ifNoneMatch = req.headers['if-none-match'];
    const record = (status: number, bytes = 0) => this.requests.push({ path, status, ifNoneMatch, bytes });
    res.setHeader('Connection', 'close');
    const fault = this.faults.get(path);
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      record(fault.status);
      res.writeHead(fault.status, { 'Content-Type': 'text/plain' }).end(`injected ${fault.status}`);
      return;
    }
    let body: Buffer;
    try {
      const file = normalize(join(this.root, path));
      if (!file.startsWith(normalize(this.root))) throw new Error('outside');
      body = fault?.kind === 'body' ? Buffer.from(fault.body) : await readFile(file);
    } catch {
      record(404);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    if (ifNoneMatch === etag) {
      record(304);
      res.writeHead(304, { ETag: etag }).end();
      return;
    }
    record(200, fault?.kind === 'reset' ? Math.min(fault.afterBytes, body.length) : body.length);
    const type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    if (fault?.kind === 'reset') {
      // Promise the whole body, send part of it, then cut the connection.
      res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(body.length), ETag: etag });
      res.write(body.subarray(0, fault.afterBytes), () => setTimeout(() => res.socket?.destroy(), 5));
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(body.length), ETag: etag }).end(body);
  }
}
