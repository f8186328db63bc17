// A gRPC client's deadline is the predict's deadline on the server: a call queued behind a heavy one
// in the inference thread is answered DEADLINE_EXCEEDED and never run (request_count counts only the
// calls that ran), not run after its client gave up. Real model (emotion), real gRPC, real worker thread.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startGrpcServer } from '../../src/grpc/grpc-server.js';
import { NodeWorkerModelServer } from '../../src/worker-client/node-worker-model-server.js';
import { humanModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { callError, servingClient } from './client.js';

after(() => removeTempDirs());

const images = (n: number) => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: n }, { size: 64 }, { size: 64 }, { size: 1 }] }, float_val: Array.from({ length: n * 4096 }, (_, i) => (i % 17) / 17) });

test('a gRPC predict past its client deadline behind a heavy one: DEADLINE_EXCEEDED, and the worker never runs it', async () => {
  const base = join(await tempDir('grpc-deadline'), 'emotion');
  await mkdir(join(base, '1'), { recursive: true });
  await cp(humanModel('emotion'), join(base, '1', 'model.json'));
  await cp(humanModel('emotion').replace(/\.json$/, '.bin'), join(base, '1', 'emotion.bin'));
  const server = await NodeWorkerModelServer.start({ modelConfigList: [{ name: 'emotion', basePath: base }], backends: ['cpu'], pollIntervalMs: 0, transferInputs: true });
  const grpc = await startGrpcServer(server, { port: 0, host: '127.0.0.1' });
  const client = servingClient(grpc.port);
  try {
    const spec = { name: 'emotion' };
    const heavy = client.call('Predict', { model_spec: spec, inputs: { 'input_1:0': images(12) } });
    await new Promise((r) => setTimeout(r, 300));
    const late = await callError(client.call('Predict', { model_spec: spec, inputs: { 'input_1:0': images(1) } }, 300));
    assert.equal(late.code, 4, late.details); // DEADLINE_EXCEEDED
    // A third call, sent after it with time to spare: the worker takes calls in order, so once this one is
    // answered the late one would have run before it, had it been sent on.
    const third = await client.call('Predict', { model_spec: spec, inputs: { 'input_1:0': images(1) } });
    const done = await heavy;
    assert.deepEqual(done.outputs['Identity:0'].tensor_shape.dim.map((d: { size: string }) => d.size), ['12', '7']);
    assert.deepEqual(third.outputs['Identity:0'].tensor_shape.dim.map((d: { size: string }) => d.size), ['1', '7']);
    // A scrape answers from the last snapshot when the worker is slow to answer (NodeWorkerModelServer's
    // LatestAnswer; a loaded machine): ask until the third is counted, then once more with the worker idle.
    const ok = async () => Number(/:tensorflow:serving:request_count\{model_name="emotion",status="OK"\} (\d+)\n/.exec(await server.prometheusMetrics())?.[1] ?? 0);
    for (const end = Date.now() + 10_000; (await ok()) < 2 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    // Two ran (the heavy one and the third); the late one never did.
    assert.equal(await ok(), 2);
  } finally {
    client.close();
    await grpc.close();
    await server.close();
  }
});
