// The container's exact command line as a local process (no docker here): the Dockerfile's ENTRYPOINT
// script with its ENV, the Deployment's args and env, and its ConfigMap files. Its probes answer as
// Kubernetes needs: ready once the model is AVAILABLE, ready throughout a version swap, not ready once
// SIGTERM lands while the request in flight is answered, then exit 0.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { servingClient } from '../grpc/client.js';
import { removeTempDirs, tempDir } from '../helpers/models.js';
import { ROOT, startServeProcess, waitFor } from '../config/serve-process.js';

const HALF_PLUS_TWO = join(ROOT, 'test', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** ENV of the Dockerfile's last stage. */
function dockerfileEnv(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const last = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const m of last.matchAll(/^ENV ((?:.*\\\n)*.*)$/gm)) {
    for (const pair of m[1]!.replace(/\\\n/g, ' ').trim().split(/\s+/)) {
      const [k, v] = pair.split('=');
      env[k!] = v!;
    }
  }
  return env;
}

before(() => {
  // bin/tfjs-serving.js runs the built code, as in the image.
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);
});

after(() => removeTempDirs());

test('the container command line: probes during start, swap and drain; gRPC on the container port', async () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'deployment.yaml'), 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const container = deployment.spec.template.spec.containers[0];

  const root = await tempDir('container');
  const models = join(root, 'models');
  const config = join(root, 'config');
  await cp(HALF_PLUS_TWO, join(models, 'half_plus_two', '00000123'), { recursive: true });
  await mkdir(config);
  for (const [name, text] of Object.entries(configMap.data as Record<string, string>)) await writeFile(join(config, name), text.replaceAll('"/models/', `"${models}/`));

  const [restPort, grpcPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME,
    ...dockerfileEnv(),
    ...Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value])),
    MODEL_BASE_PATH: models,
    // The container's ports are 8500/8501; here two free ones (the entrypoint reads them from ENV).
    GRPC_PORT: String(grpcPort),
    REST_API_PORT: String(restPort),
  };
  assert.equal(env.NODE_ENV, 'production');
  // The Deployment's args, with the mounted /config paths here and a short poll for the swap.
  const args = (container.args as string[]).map((a) => a.replace('=/config/', `=${config}/`).replace(/^--file_system_poll_wait_seconds=.*/, '--file_system_poll_wait_seconds=0.2'));
  const serve = await startServeProcess(args, { grpc: true, env, command: [join(ROOT, 'deploy', 'tfjs-serving-entrypoint.sh')] });
  const base = `http://127.0.0.1:${restPort}`;
  const probe = async (p: { httpGet: { path: string } }) => (await fetch(base + p.httpGet.path)).status;
  const client = servingClient(grpcPort);
  try {
    assert.equal(serve.restPort, restPort);
    assert.equal(serve.grpcPort, grpcPort);
    // Ports open only after the first load: the first answer of the readiness probe is already 200.
    assert.equal(await probe(container.readinessProbe), 200);
    assert.equal(await probe(container.livenessProbe), 200);
    assert.equal(await probe(container.startupProbe), 200);
    const status = await client.call('GetModelStatus', { model_spec: { name: 'half_plus_two' } });
    assert.deepEqual(status.model_version_status.map((s: { version: string; state: string }) => [s.version, s.state]), [['123', 'AVAILABLE']]);

    // Swap to version 124 while probing and predicting: readiness never drops, no request fails.
    const failures: string[] = [];
    let swapping = true;
    const load = (async () => {
      let n = 0;
      while (swapping) {
        const ready = await probe(container.readinessProbe);
        if (ready !== 200) failures.push(`readiness ${ready}`);
        const r = await fetch(`${base}/v1/models/half_plus_two:predict`, { method: 'POST', body: '{"instances":[2.0]}' });
        const text = await r.text();
        if (r.status !== 200 || JSON.parse(text).predictions[0] !== 3) failures.push(`predict ${r.status} ${text}`);
        n++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      return n;
    })();
    await cp(HALF_PLUS_TWO, join(models, 'half_plus_two', '00000124'), { recursive: true });
    await waitFor('version 124', async () => {
      const s = (await (await fetch(`${base}/v1/models/half_plus_two`)).json()) as { model_version_status: Array<{ version: string; state: string }> };
      return s.model_version_status.find((v) => v.version === '124')?.state === 'AVAILABLE' && !s.model_version_status.some((v) => v.version === '123' && v.state === 'AVAILABLE') ? true : undefined;
    }, 60_000);
    swapping = false;
    const rounds = await load;
    assert.equal(failures.length, 0, failures.join('\n'));
    assert.ok(rounds > 0);
    const metadata = (await (await fetch(`${base}/v1/models/half_plus_two/metadata`)).json()) as { model_spec: { version: string } };
    assert.equal(metadata.model_spec.version, '124');

    // SIGTERM with a request in flight (its body still arriving): readiness stops, the request is answered, exit 0.
    const body = '{"instances":[4.0]}';
    const inFlight = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${base}/v1/models/half_plus_two:predict`, { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 5));
      setTimeout(() => {
        serve.child.kill('SIGTERM');
        setTimeout(() => {
          // Not ready any more while draining: the REST port no longer accepts connections.
          probe(container.readinessProbe).then(
            (s) => failures.push(`readiness answered ${s} during drain`),
            () => undefined,
          ).finally(() => req.end(body.slice(5)));
        }, 300);
      }, 200);
    });
    const answered = await inFlight;
    assert.equal(answered.status, 200, answered.text);
    assert.deepEqual(JSON.parse(answered.text), { predictions: [4.0] });
    assert.equal(await serve.exited, 0, serve.log());
    assert.equal(failures.length, 0, failures.join('\n'));
    assert.match(serve.log(), /Received SIGTERM: finishing 1 in-flight request/);
  } finally {
    client.close();
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  }
});
