// `tfjs-serving serve` from TF Serving's text-proto files: a model config with a version policy and
// labels, reloaded when the file changes (--model_config_file_poll_wait_seconds), batching parameters,
// a monitoring config; gRPC on --port; SIGTERM drains an in-flight gRPC call; bad files fail with
// file:line:column.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { servingClient } from '../grpc/client.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';
import { BIN, ROOT, startServeProcess, waitFor } from './serve-process.js';

const IN = 'dense_dense1_input:0';

after(() => removeTempDirs());

const modelConfig = (dir: string, extra = '') => `# TF Serving model config (text proto)
model_config_list {
  config {
    name: "a"
    base_path: "${join(dir, 'a')}"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 7 versions: 8 } }
    version_labels { key: "stable" value: 7 }
    version_labels { key: "canary" value: 8 }
  }${extra}
}
`;

test('serve: text-proto model config (policy, labels), reload on change, batching and monitoring files, gRPC, drain on SIGTERM', async () => {
  const dir = await tempDir('serve-text');
  await cp(await denseModel(3, 0), join(dir, 'a', '7'), { recursive: true });
  await cp(await denseModel(5, 1), join(dir, 'a', '8'), { recursive: true });
  await cp(await denseModel(2, 2), join(dir, 'b', '1'), { recursive: true });
  await writeFile(join(dir, 'models.config'), modelConfig(dir));
  // A long batch timeout keeps a lone request in flight while SIGTERM lands.
  await writeFile(join(dir, 'batching.config'), 'max_batch_size { value: 8 }\nbatch_timeout_micros { value: 1500000 }\nmax_enqueued_batches { value: 4 }\nnum_batch_threads { value: 1 }\n');
  await writeFile(join(dir, 'monitoring.config'), 'prometheus_config {\n  enable: true\n  path: "/metrics"\n}\n');
  const serve = await startServeProcess(
    [
      'serve', '--rest_api_port', '0', '--rest_api_host', '127.0.0.1', '--port', '0', '--backend', 'cpu',
      '--model_config_file', join(dir, 'models.config'), '--model_config_file_poll_wait_seconds', '0.3',
      '--enable_batching', '--batching_parameters_file', join(dir, 'batching.config'),
      '--monitoring_config_file', join(dir, 'monitoring.config'),
    ],
    { grpc: true },
  );
  const rest = `http://127.0.0.1:${serve.restPort}`;
  const client = servingClient(serve.grpcPort!);
  try {
    const predict = async (path: string, x: number) => {
      const r = await fetch(`${rest}/v1/models/${path}:predict`, { method: 'POST', body: JSON.stringify({ inputs: { [IN]: [[x]] } }) });
      return ((await r.json()) as { outputs: number[][] }).outputs[0]![0];
    };
    assert.equal(await predict('a/labels/stable', 2), denseExpected(3, 0, 2));
    assert.equal(await predict('a/labels/canary', 2), denseExpected(5, 1, 2));
    const g = await client.call('Predict', {
      model_spec: { name: 'a', version_label: 'stable' },
      inputs: { [IN]: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }, { size: '1' }] }, float_val: [2] } },
    });
    assert.equal(g.outputs['Identity:0'].float_val[0], denseExpected(3, 0, 2));

    // The monitoring config moved Prometheus to /metrics.
    const metrics = await fetch(`${rest}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /entrypoint="GRPC"/);
    assert.equal((await fetch(`${rest}/monitoring/prometheus/metrics`)).status, 404);

    // The config file changes: model b appears without a restart.
    await writeFile(join(dir, 'models.config'), modelConfig(dir, `\n  config {\n    name: "b"\n    base_path: "${join(dir, 'b')}"\n    model_platform: "tfjs"\n  }`));
    const status = await waitFor('model b', async () => {
      const s = await client.call('GetModelStatus', { model_spec: { name: 'b' } });
      return s.model_version_status[0]?.state === 'AVAILABLE' ? s : undefined;
    });
    assert.equal(status.model_version_status[0].version, '1');
    assert.equal(await predict('b', 1), denseExpected(2, 2, 1));
    assert.match(serve.log(), /Reloaded .*models\.config/);

    // SIGTERM while gRPC calls wait in the batch queue: they are answered, then the process exits 0. A
    // lone request runs at once (nothing in flight), so a second one sent behind it waits for batch-mates.
    const call = () =>
      client.call('Predict', {
        model_spec: { name: 'a', version: { value: '8' } },
        inputs: { [IN]: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }, { size: '1' }] }, float_val: [4] } },
      });
    const inFlight = [call(), call()];
    await new Promise((r) => setTimeout(r, 300));
    serve.child.kill('SIGTERM');
    for (const answered of await Promise.all(inFlight)) assert.equal(answered.outputs['Identity:0'].float_val[0], denseExpected(5, 1, 4));
    assert.equal(await serve.exited, 0, serve.log());
    assert.match(serve.log(), /Received SIGTERM: finishing \d+ in-flight request/);
  } finally {
    client.close();
    if (serve.child.exitCode === null) serve.child.kill('SIGKILL');
  }
});

test('serve: a bad text-proto config fails at start naming file, line and field', async () => {
  const dir = await tempDir('serve-text-bad');
  const file = join(dir, 'models.config');
  await writeFile(file, 'model_config_list {\n  config {\n    name: "a"\n    base_pth: "/x"\n  }\n}\n');
  const bad = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--model_config_file', file], { cwd: ROOT });
  let err = '';
  bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => bad.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, new RegExp(`INVALID_ARGUMENT: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:5: unknown field "base_pth" in tensorflow\\.serving\\.ModelConfig`));
});
