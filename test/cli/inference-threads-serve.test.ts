// `serve --inference_threads=2` as a user runs it: the real CLI in a child process, a real dense model
// in TF Serving's directory layout, TF Serving's REST API on 127.0.0.1; concurrent predictions are
// answered right by either thread, a new version reaches both, the metrics count every request.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServe } from '../helpers/serve-process.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

after(removeTempDirs);

test('serve --inference_threads=2: predictions on two threads, a new version on both, metrics summed', async () => {
  const dir = await tempDir('inference-threads');
  const base = join(dir, 'm');
  await cp(await denseModel(2, 0), join(base, '1'), { recursive: true });
  const monitoring = join(dir, 'monitoring.config');
  await writeFile(monitoring, 'prometheus_config { enable: true, path: "/metrics" }\n');
  const serve = await startServe(['--model_name', 'm', '--model_base_path', base, '--file_system_poll_wait_seconds', '0.2', '--inference_threads=2', '--monitoring_config_file', monitoring]);
  let sent = 0;
  const url = `http://127.0.0.1:${serve.port}/v1/models/m`;
  const predict = async (x: number) => {
    sent++;
    const res = await fetch(`${url}:predict`, { method: 'POST', body: JSON.stringify({ instances: [[x]] }) });
    assert.equal(res.status, 200, `${await res.clone().text()}\n${serve.log()}`);
    return ((await res.json()) as { predictions: number[][] }).predictions[0]?.[0];
  };
  try {
    const first = await Promise.all(Array.from({ length: 16 }, (_, i) => predict(i)));
    assert.deepEqual(first, Array.from({ length: 16 }, (_, i) => denseExpected(2, 0, i)));
    // Version 2 (another kernel): both threads poll the directory and swap.
    await cp(await denseModel(3, 0), join(base, '2'), { recursive: true });
    let answers: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      answers = await Promise.all(Array.from({ length: 8 }, () => predict(1)));
      if (answers.every((a) => a === denseExpected(3, 0, 1))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(answers, Array.from({ length: 8 }, () => denseExpected(3, 0, 1)), 'every thread serves version 2');
    const metrics = await (await fetch(`http://127.0.0.1:${serve.port}/metrics`)).text();
    assert.match(metrics, new RegExp(`:tensorflow:serving:request_count\\{model_name="m",status="OK"\\} ${sent}\\n`), 'every request counted, whichever thread ran it');
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

test('serve: --inference_threads is checked (1 to 16, and not with --inference_thread=false)', async () => {
  const base = join(await tempDir('inference-threads-bad'), 'm');
  await cp(await denseModel(2, 0), join(base, '1'), { recursive: true });
  await assert.rejects(startServe(['--model_base_path', base, '--inference_threads=0']), /--inference_threads/);
  await assert.rejects(startServe(['--model_base_path', base, '--inference_threads=17']), /--inference_threads/);
  await assert.rejects(startServe(['--model_base_path', base, '--inference_threads=2', '--inference_thread=false']), /--inference_threads=2 needs the inference thread/);
});
