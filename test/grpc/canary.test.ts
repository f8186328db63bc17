// Canary splits over gRPC: the `x-tfjs-serving-user` metadata assigns a call to the canary sticky per
// user, as REST's X-Tfjs-Serving-User header does; a MultiInference request is routed once (all its tasks
// on one version); a bad user id is INVALID_ARGUMENT. Real model (half_plus_two, two versions), real gRPC.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs, tempDir } from '../helpers/models.js';
import type { ServingClient } from './client.js';
import { callError, shape } from './client.js';
import type { GrpcFixture } from './grpc-fixture.js';
import { startGrpcFixture } from './grpc-fixture.js';

const here = dirname(fileURLToPath(import.meta.url));
const HALF_PLUS_TWO = join(here, '..', 'fixtures', 'savedmodels', 'tfserving', 'saved_model_half_plus_two_cpu', '00000123');

let fixture: GrpcFixture | undefined;
let server: GrpcFixture['server'];
let client: ServingClient;

before(async () => {
  const root = await tempDir('grpc-canary');
  for (const v of ['1', '2']) await cp(HALF_PLUS_TWO, join(root, 'm', v), { recursive: true });
  fixture = await startGrpcFixture([{ name: 'm', basePath: join(root, 'm'), canary: { version: 2, percent: 30 } }]);
  ({ server, client } = fixture);
});

after(async () => {
  await fixture?.close();
  await removeTempDirs();
});

const predictAs = async (user: string | undefined): Promise<number> => {
  const request = { model_spec: { name: 'm' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: shape(1), float_val: [4] } } };
  const r = await client.call('Predict', request, undefined, user === undefined ? {} : { 'x-tfjs-serving-user': user });
  assert.deepEqual(r.outputs.y.float_val, [4]);
  return Number(r.model_spec.version.value);
};

test('the x-tfjs-serving-user metadata sends a sticky share of users to the canary', async () => {
  const users = Array.from({ length: 300 }, (_, i) => `user-${i}`);
  const first = new Map<string, number>();
  for (const u of users) first.set(u, await predictAs(u));
  assert.deepEqual(new Set(first.values()), new Set([1, 2]));
  const share = (100 * [...first.values()].filter((v) => v === 2).length) / users.length;
  assert.ok(Math.abs(share - 30) <= 6, `canary share ${share}% of 300 users`);
  for (const u of users.slice(0, 60)) assert.equal(await predictAs(u), first.get(u), `user ${u} sees the same version again`);
  // The REST/gRPC user id and the library's own assignment agree.
  for (const u of users.slice(0, 30)) assert.equal((await server.getSignature('m', { userId: u })).model.version, first.get(u));
});

test('a MultiInference request is routed once: every task runs on the same version', async () => {
  const tasks = [
    { model_spec: { name: 'm', signature_name: 'classify_x_to_y' }, method_name: 'tensorflow/serving/classify' },
    { model_spec: { name: 'm', signature_name: 'regress_x_to_y' }, method_name: 'tensorflow/serving/regress' },
    { model_spec: { name: 'm', signature_name: 'regress_x_to_y2' }, method_name: 'tensorflow/serving/regress' },
  ];
  const input = { example_list: { examples: [{ features: { feature: { x: { float_list: { value: [2] } } } } }] } };
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    // No user id: each request is assigned at random, but as one.
    const r = await client.call('MultiInference', { tasks, input });
    const versions = r.results.map((x: { model_spec: { version: { value: string } } }) => x.model_spec.version.value);
    assert.equal(new Set(versions).size, 1, `request ${i}: tasks ran on versions ${versions.join(', ')}`);
    seen.add(versions[0]);
  }
  assert.deepEqual(seen, new Set(['1', '2']), 'requests without a user id are split at random');
});

test('an empty or overlong user id is INVALID_ARGUMENT, naming the metadata key', async () => {
  for (const bad of ['', 'u'.repeat(257)]) {
    const e = await callError(predictAs(bad));
    assert.equal(e.code, 3, e.details);
    assert.match(e.details, /metadata x-tfjs-serving-user must be a user id of 1 to 256 characters/);
  }
});
