// `serve --model_loading=on-demand --total_model_memory_limit_bytes=N` as a user runs it: the real CLI in a
// child process, three real dense graph models in TF Serving's directory layout, a budget that fits two,
// and TF Serving's REST API on 127.0.0.1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServe } from '../helpers/serve-process.js';
import { denseExpected, denseModel, removeTempDirs, tempDir } from '../helpers/models.js';

const KERNELS: Record<string, number> = { a: 2, b: 3, c: 5 };
let configFile = '';
let estimate = 0;

before(async () => {
  const base = await tempDir('on-demand-serve');
  const list: string[] = [];
  for (const [name, kernel] of Object.entries(KERNELS)) {
    const dir = join(base, name, '1');
    await cp(await denseModel(kernel, 0), dir, { recursive: true });
    list.push(`{"name": "${name}", "base_path": ${JSON.stringify(join(base, name))}}`);
    estimate = Math.ceil(1.2 * ((await stat(join(dir, 'model.json'))).size + (await stat(join(dir, 'group1-shard1of1.bin'))).size));
  }
  configFile = join(base, 'models.json');
  await writeFile(configFile, `{"model_config_list": [${list.join(', ')}]}`);
});
after(removeTempDirs);

test('serve on demand: models load when asked through REST and the least recently used is unloaded', async () => {
  const serve = await startServe(['--model_config_file', configFile, '--file_system_poll_wait_seconds', '0', '--model_loading=on-demand', `--total_model_memory_limit_bytes=${Math.floor(2.5 * estimate)}`]);
  const url = `http://127.0.0.1:${serve.port}/v1/models`;
  try {
    // Ready before any model is loaded: on demand, a stored version is enough (it loads when asked for).
    const ready = await fetch(`http://127.0.0.1:${serve.port}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.deepEqual(await ready.json(), { ready: true, models: ['a', 'b', 'c'] });
    for (const [name, x] of [['a', 1], ['b', 2], ['a', 3], ['c', 4]] as const) {
      const res = await fetch(`${url}/${name}:predict`, { method: 'POST', body: JSON.stringify({ instances: [[x]] }) });
      assert.equal(res.status, 200, `${name}: ${await res.clone().text()}\n${serve.log()}`);
      assert.deepEqual(await res.json(), { predictions: [[denseExpected(KERNELS[name]!, 0, x)]] });
    }
    const state = async (name: string) => ((await (await fetch(`${url}/${name}`)).json()) as { model_version_status: Array<{ state: string }> }).model_version_status[0]?.state;
    assert.deepEqual([await state('a'), await state('b'), await state('c')], ['AVAILABLE', 'END', 'AVAILABLE']);
    assert.equal((await fetch(`http://127.0.0.1:${serve.port}/readyz`)).status, 200, 'an evicted model (END) still counts: it is stored');
  } finally {
    serve.child.kill('SIGTERM');
    await serve.exited;
  }
});

test('serve: a wrong --model_loading fails at start, naming the flag and the values it takes', async () => {
  await assert.rejects(startServe(['--model_config_file', configFile, '--model_loading=lazy']), /--model_loading must be eager or on-demand, got "lazy"/);
});
