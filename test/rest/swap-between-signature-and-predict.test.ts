// A REST predict reads its JSON with the signature of the version picked now and runs pinned to it. When
// a swap unloads that version in between (availability-preserving: as soon as the new one is AVAILABLE),
// the request is read again for the new version and answered — a swap never fails a request in flight.
// A request that named the version gets NOT_FOUND, as in TF Serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handleRestRequest } from '../../src/index.js';
import type { ModelServer } from '../../src/index.js';
import { harness } from '../helpers/serving.js';
import type { Harness } from '../helpers/serving.js';

/** The real server, whose next predict first swaps version 1 for 2 (published, polled, loaded, 1 unloaded). */
function swapBeforeNextPredict(h: Harness, server: ModelServer): ModelServer {
  let pending = true;
  return new Proxy(server, {
    get(target, prop) {
      if (prop === 'predict') {
        return async (...args: Parameters<ModelServer['predict']>) => {
          if (pending) {
            pending = false;
            await h.publishDense('m', 2);
            await target.pollNow();
            await target.whenIdle();
          }
          return target.predict(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('a swap between the signature read and the predict: the request runs on the new version', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1); // y = 1·x
    const server = await h.start({});
    const racing = swapBeforeNextPredict(h, server);
    const res = await handleRestRequest(racing, new Request('http://x/v1/models/m:predict', { method: 'POST', body: '{"instances": [[3]]}' }));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { predictions: [[6]] }, 'answered by version 2 (y = 2·x)');
    const status = (await server.getModelStatus('m')).model_version_status.map((s) => [s.version, s.state]);
    assert.deepEqual(status, [['2', 'AVAILABLE'], ['1', 'END']]);
  } finally {
    await h.close();
  }
});

test('the same race for a request that named its version: NOT_FOUND', async () => {
  const h = await harness();
  try {
    await h.publishDense('m', 1);
    const server = await h.start({});
    const racing = swapBeforeNextPredict(h, server);
    const res = await handleRestRequest(racing, new Request('http://x/v1/models/m/versions/1:predict', { method: 'POST', body: '{"instances": [[3]]}' }));
    assert.equal(res.status, 404, await res.clone().text());
  } finally {
    await h.close();
  }
});
