// A real S3-compatible server for the tests, on 127.0.0.1: s3rver (an S3 implementation in Node,
// storing objects in a temporary directory) behind a gateway that makes its buckets private. s3rver
// accepts unsigned requests and does not check SigV4 signatures, so the gateway checks every request
// the way S3 does before passing it on: no signature → AccessDenied, an unknown access key →
// InvalidAccessKeyId, a wrong secret → SignatureDoesNotMatch (recomputed with AWS's own signer,
// @smithy/signature-v4), a key without a grant on the bucket → AccessDenied.
import { createHash, createHmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import S3rver from 's3rver';
import { tempDir } from '../helpers/models.js';

/** A SHA-256 (or HMAC-SHA-256 with a secret) for the signer, from node:crypto. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    const key = secret === undefined ? undefined : typeof secret === 'string' ? secret : Buffer.from(ArrayBuffer.isView(secret) ? secret.buffer.slice(secret.byteOffset, secret.byteOffset + secret.byteLength) : secret);
    this.hash = key === undefined ? createHash('sha256') : createHmac('sha256', key);
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === 'string' ? data : Buffer.from(ArrayBuffer.isView(data) ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

export interface TestKey {
  readonly secret: string;
  /** Buckets this key may use; all when undefined. */
  readonly buckets?: readonly string[];
}

export class S3TestServer {
  /** The admin key (all buckets). */
  static readonly ADMIN = { id: 'TESTADMINKEY', secret: 'test-admin-secret' };
  readonly keys = new Map<string, TestKey>([[S3TestServer.ADMIN.id, { secret: S3TestServer.ADMIN.secret }]]);
  /** Requests the gateway passed on, in order: `PUT /bucket/key`. */
  readonly accepted: string[] = [];
  /** Runs before an accepted request is passed on (a test's upload racing a poll). */
  beforeForward: ((method: string, path: string) => Promise<void>) | undefined;
  /** Requests the gateway refused, by S3 error code. */
  readonly refused = new Map<string, number>();
  readonly admin: S3Client;

  private constructor(
    private readonly s3rver: S3rver,
    private readonly backendPort: number,
    private readonly gateway: Server,
    readonly port: number,
  ) {
    this.admin = new S3Client(this.clientConfig(S3TestServer.ADMIN.id, S3TestServer.ADMIN.secret));
  }

  static async start(): Promise<S3TestServer> {
    const s3rver = new S3rver({ port: 0, address: '127.0.0.1', directory: await tempDir('s3rver'), silent: true });
    const { port: backendPort } = await s3rver.run();
    const holder: { server?: S3TestServer } = {};
    const gateway = createServer((req, res) => void holder.server?.handle(req, res));
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const server = new S3TestServer(s3rver, backendPort, gateway, (gateway.address() as AddressInfo).port); // listening on TCP: an AddressInfo
    holder.server = server;
    return server;
  }

  /** `http://127.0.0.1:PORT` */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The environment a client of this server gets (TF Serving's variables: S3_ENDPOINT without a scheme, S3_USE_HTTPS=0). */
  env(id = S3TestServer.ADMIN.id, secret = this.keys.get(id)?.secret ?? 'no-such-secret'): Record<string, string> {
    return { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'us-east-1', S3_ENDPOINT: `127.0.0.1:${this.port}`, S3_USE_HTTPS: '0', AWS_EC2_METADATA_DISABLED: 'true' };
  }

  clientConfig(id: string, secret: string) {
    return { region: 'us-east-1', endpoint: this.endpoint, forcePathStyle: true, credentials: { accessKeyId: id, secretAccessKey: secret } };
  }

  async createBucket(bucket: string): Promise<void> {
    await this.admin.send(new CreateBucketCommand({ Bucket: bucket }));
  }

  async put(bucket: string, key: string, body: Uint8Array | string): Promise<void> {
    await this.admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: typeof body === 'string' ? new TextEncoder().encode(body) : body }));
  }

  /** Uploads every file under `dir` to `prefix/…`, in path order; returns the keys. */
  async upload(bucket: string, prefix: string, dir: string): Promise<string[]> {
    const keys: string[] = [];
    for (const rel of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort()) {
      const key = `${prefix}/${rel.split(sep).join('/')}`;
      await this.put(bucket, key, new Uint8Array(await readFile(join(dir, rel))));
      keys.push(key);
    }
    return keys;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async close(): Promise<void> {
    this.admin.destroy();
    this.gateway.closeAllConnections();
    await new Promise<void>((resolve) => this.gateway.close(() => resolve()));
    await this.s3rver.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.pause();
    const refusal = await this.check(req).catch((e: unknown) => ({ code: 'InternalError', message: String(e) }));
    if (refusal) {
      this.refused.set(refusal.code, (this.refused.get(refusal.code) ?? 0) + 1);
      req.resume();
      res.writeHead(refusal.code === 'InternalError' ? 500 : 403, { 'Content-Type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`);
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    this.accepted.push(`${req.method} ${path}`);
    await this.beforeForward?.(req.method ?? 'GET', path);
    const headers = { ...req.headers };
    delete headers.authorization; // s3rver knows none of these keys: it serves the checked request unsigned
    const upstream = httpRequest({ host: '127.0.0.1', port: this.backendPort, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    req.resume();
  }

  /** Why S3 would refuse this request, or undefined when it is signed by a key with a grant on the bucket. */
  private async check(req: IncomingMessage): Promise<{ code: string; message: string } | undefined> {
    const auth = req.headers.authorization;
    if (!auth) return { code: 'AccessDenied', message: 'Access Denied (the bucket is private: sign the request)' };
    const m = AUTH.exec(auth);
    if (!m) return { code: 'AuthorizationHeaderMalformed', message: 'The authorization header is malformed' };
    const [, id = '', , region = '', signedHeaders = '', signature = ''] = m;
    const key = this.keys.get(id);
    if (!key) return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const name of signedHeaders.split(';')) {
      const v = req.headers[name];
      headers[name] = Array.isArray(v) ? v.join(',') : (v ?? '');
    }
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
    }
    const amzDate = headers['x-amz-date'] ?? '';
    const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const signer = new SignatureV4({ credentials: { accessKeyId: id, secretAccessKey: key.secret }, region, service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
    const signed = await signer.sign(
      { method: req.method ?? 'GET', protocol: 'http:', hostname: '127.0.0.1', port: this.port, path: url.pathname, query, headers },
      { signingDate },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? signed.headers.Authorization))?.[1];
    if (expected !== signature) return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
    const bucket = url.pathname.split('/')[1] ?? '';
    if (key.buckets && !key.buckets.includes(bucket)) return { code: 'AccessDenied', message: `Access Denied (no grant on ${bucket})` };
    return undefined;
  }
}
