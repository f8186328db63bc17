// Error messages say what is wrong with a file and where (line, column), never its bytes: a broken
// warmup.json, model.json and manifest.json holding a secret, read through a real model server, show
// in REST status / source state without the secret.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalModelServer } from '../../src/node.js';
import { startRestServer } from '../../src/rest/node-http.js';
import { harness } from '../helpers/serving.js';
import { DENSE_MODEL_DIR, removeTempDirs, tempDir } from '../helpers/models.js';

const SECRET = 'sk-live-SECRET-0123456789';

after(() => removeTempDirs());

async function versionError(url: string, model: string, version: number): Promise<{ error_code: string; error_message: string }> {
  const r = await fetch(`${url}/v1/models/${model}/versions/${version}`);
  const json = (await r.json()) as { model_version_status: Array<{ status: { error_code: string; error_message: string } }> };
  return json.model_version_status[0]!.status;
}

test('broken warmup.json and model.json: REST status names the file, line and column, not the bytes', async () => {
  const root = await tempDir('no-contents');
  await cp(DENSE_MODEL_DIR, join(root, 'warm', '1'), { recursive: true });
  await writeFile(join(root, 'warm', '1', 'warmup.json'), `{"requests": [\n  {"inputs": ${SECRET}}\n]}`);
  await mkdir(join(root, 'broken', '1'), { recursive: true });
  await writeFile(join(root, 'broken', '1', 'model.json'), `{"modelTopology": "${SECRET}" ${SECRET}`);
  const server = await LocalModelServer.start({
    modelConfigList: [
      { name: 'warm', basePath: join(root, 'warm') },
      { name: 'broken', basePath: join(root, 'broken') },
    ],
    pollIntervalMs: 0,
    backends: ['cpu'],
    maxNumLoadRetries: 0,
    loadRetryIntervalMs: 1,
  });
  const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${rest.port}`;
  try {
    const warm = await versionError(url, 'warm', 1);
    assert.equal(warm.error_code, 'INVALID_ARGUMENT');
    assert.match(warm.error_message, /warmup\.json is not valid JSON: Invalid value at line 2, column 14 \(character 28\)/);
    assert.doesNotMatch(warm.error_message, /SECRET|sk-live/);
    const broken = await versionError(url, 'broken', 1);
    assert.equal(broken.error_code, 'INVALID_ARGUMENT');
    assert.match(broken.error_message, /model\.json is not valid JSON: Missing a comma or '}' after an object member at line 1, column \d+/);
    assert.doesNotMatch(broken.error_message, /SECRET|sk-live/);
  } finally {
    await rest.close();
    await server.close();
  }
});

test('broken manifest.json and a manifest field of the wrong kind: source state says what and where, not the bytes', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    h.repo.fault('/m/manifest.json', { kind: 'body', body: `{"format": "tfjs-serving-manifest", "name": ${SECRET}}` });
    const server = await h.start({});
    let state = await server.sourceState('m');
    assert.equal(state.lastError?.code, 'INVALID_ARGUMENT');
    assert.match(state.lastError!.message, /manifest is not valid JSON: Invalid value at line 1, column 45/);
    assert.doesNotMatch(state.lastError!.message, /SECRET|sk-live/);
    h.repo.fault('/m/manifest.json', { kind: 'body', body: JSON.stringify({ format: SECRET, name: 'm' }) });
    await server.pollNow();
    state = await server.sourceState('m');
    assert.match(state.lastError!.message, /"format" must be "[^"]+", got a string of 25 characters/);
    assert.doesNotMatch(state.lastError!.message, /SECRET|sk-live/);
  } finally {
    await h.close();
  }
});
