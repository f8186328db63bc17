// Canary assignment as pure logic: the user's bucket (deterministic, uniform, sticky), the router's
// choice between canary and stable, the policy that keeps the canary loaded, and config validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canaryBucket, routesToCanary, validateCanary, validateUserId } from '../../src/core/canary.js';
import { selectVersions, validateVersionPolicy, withCanary } from '../../src/core/servable-version-policy.js';
import { routeRequest } from '../../src/server/canary-router.js';
import { normalizeModelConfigList } from '../../src/server/model-server-options.js';
import { parseManifest } from '../../src/repository/manifest.js';
import { ServingError } from '../../src/core/status.js';
import { deviceUserId, randomUserId } from '../../src/server/device-user-id.js';

const users = (n: number, prefix = 'user-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

test('1,000 users: the canary share is within ±3 points of the percent (canary sizes), within 4σ at any percent', () => {
  for (const ids of [users(1000), users(1000, 'a1b2c3d4-0000-4000-8000-'), users(1000).map((u) => `${u}@example.com`)]) {
    for (const percent of [1, 5, 10, 25, 50, 90]) {
      const share = (ids.filter((u) => routesToCanary({ version: 3, percent }, 'emotion', u)).length / ids.length) * 100;
      // The issue's ±3 points holds for canary-sized shares (3σ at 10%); a fair coin per user has
      // σ = 1.6 points at 50% over 1,000 users, so larger shares are held to 4σ of a binomial.
      const sigma = 100 * Math.sqrt(((percent / 100) * (1 - percent / 100)) / ids.length);
      const bound = percent <= 10 ? 3 : 4 * sigma;
      assert.ok(Math.abs(share - percent) <= bound, `${percent}%: ${share.toFixed(1)}% of ${ids[0]}… (bound ±${bound.toFixed(1)})`);
    }
  }
});

test('buckets are uniform over [0, 100): chi-square of 100,000 ids over 100 buckets', () => {
  const counts = new Array<number>(100).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const b = canaryBucket(`id-${i}`, 'm');
    assert.ok(b >= 0 && b < 100, `bucket ${b}`);
    counts[Math.floor(b)]!++;
  }
  const expected = 1000;
  const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  // 99 degrees of freedom: the 99.9th percentile is about 149.
  assert.ok(chi2 < 149, `chi-square ${chi2.toFixed(1)}`);
});

test('a user always gets the same bucket; raising the percent only adds users; models are assigned independently', () => {
  const ids = users(1000);
  for (const u of ids) assert.equal(canaryBucket(u, 'm'), canaryBucket(u, 'm'));
  const at10 = new Set(ids.filter((u) => routesToCanary({ version: 2, percent: 10 }, 'm', u)));
  const at30 = new Set(ids.filter((u) => routesToCanary({ version: 2, percent: 30 }, 'm', u)));
  for (const u of at10) assert.ok(at30.has(u), `${u} left the canary when the percent rose`);
  // Another model's canary picks other users (about 10% of the first model's canary users, not all of them).
  const other = ids.filter((u) => at10.has(u) && routesToCanary({ version: 2, percent: 10 }, 'other', u)).length;
  assert.ok(other < at10.size / 2, `${other} of ${at10.size} users are in both models' canaries`);
  assert.equal(ids.filter((u) => routesToCanary({ version: 2, percent: 0 }, 'm', u)).length, 0);
  assert.equal(ids.filter((u) => routesToCanary({ version: 2, percent: 100 }, 'm', u)).length, 1000);
});

test('without a user id each request draws its own bucket', () => {
  const draws = [0.05, 0.5, 0.099, 0.1];
  const picks = draws.map((r) => routesToCanary({ version: 2, percent: 10 }, 'm', undefined, () => r));
  assert.deepEqual(picks, [true, false, true, false]);
});

test('routeRequest: canary share over the stable version; stable label wins; canary not AVAILABLE → everyone stable', () => {
  const split = { version: 3, percent: 50 };
  const ids = users(400);
  const routed = ids.map((u) => routeRequest('m', split, {}, [1, 2, 3], u));
  assert.deepEqual(new Set(routed.map((r) => r.version)), new Set([2, 3]), 'the stable version is the newest other than the canary');
  for (const r of routed) assert.equal(r.route, r.version === 3 ? 'canary' : 'stable');
  assert.deepEqual(new Set(ids.map((u) => routeRequest('m', split, { stable: 1 }, [1, 2, 3], u).version)), new Set([1, 3]));
  assert.deepEqual(new Set(ids.map((u) => routeRequest('m', split, {}, [1, 2], u).version)), new Set([2]));
  assert.deepEqual(routeRequest('m', split, {}, [3], 'u'), { version: 3, route: 'canary' }, 'only the canary serves');
  assert.deepEqual(routeRequest('m', split, {}, [], 'u'), { version: undefined, route: 'latest' });
  assert.deepEqual(routeRequest('m', undefined, {}, [1, 2, 3], 'u'), { version: undefined, route: 'latest' });
  assert.deepEqual(new Set(ids.map((u) => routeRequest('m', { version: 3, percent: 0 }, {}, [2, 3], u).version)), new Set([2]), 'rollback: 0%');
});

test('withCanary: the policy picks among the other versions and the canary rides on top', () => {
  const latest1 = validateVersionPolicy({ latest: { numVersions: 1 } }, 'm');
  assert.deepEqual(selectVersions(withCanary(latest1, 3), [1, 2, 3]), [2, 3]);
  assert.deepEqual(selectVersions(withCanary(latest1, 4), [1, 2, 3]), [3], 'a canary not published yet');
  assert.deepEqual(selectVersions(withCanary({ specific: { versions: [1] } }, 3), [1, 2, 3]), [1, 3]);
  assert.deepEqual(selectVersions(withCanary(latest1, undefined), [1, 2, 3]), [3]);
  assert.throws(() => validateVersionPolicy({ withCanary: { base: latest1, version: 3 } }, 'm'), /exactly one of latest, all, specific/);
});

test('bad canaries and user ids are INVALID_ARGUMENT naming the field and what is expected', () => {
  const code = (e: unknown) => e instanceof ServingError && e.code === 'INVALID_ARGUMENT';
  assert.throws(() => validateCanary({ version: 3, percent: 101 }, 'model m'), (e) => code(e) && /model m: canary\.percent must be a number from 0 to 100, got 101/.test((e as Error).message));
  assert.throws(() => validateCanary({ version: -1, percent: 5 }, 'model m'), /canary\.version must be a non-negative integer, got -1/);
  assert.throws(() => validateCanary({ version: 1, percent: 5, weight: 2 }, 'model m'), /unknown field\(s\) weight/);
  assert.throws(() => validateCanary(10, 'model m'), /canary must be an object \{version, percent\}, got 10/);
  assert.throws(() => validateUserId('', 'model m'), (e) => code(e) && /userId must be a non-empty string/.test((e as Error).message));
  assert.throws(() => validateUserId(7, 'model m'), /got 7/);
  assert.equal(validateUserId('u-1', 'x'), 'u-1');
  assert.throws(
    () => normalizeModelConfigList([{ name: 'm', basePath: '/m', versionLabels: { stable: 3 }, canary: { version: 3, percent: 10 } }]),
    /model m: canary\.version 3 is also the stable label's version/,
  );
  assert.deepEqual(normalizeModelConfigList([{ name: 'm', basePath: '/m', canary: { version: 3, percent: 10 } }])[0]?.canary, { version: 3, percent: 10 });
});

test('a manifest may carry a canary; a bad one is refused naming the manifest', () => {
  const base = { format: 'tfjs-serving-manifest', formatVersion: 1, name: 'm', versions: [] };
  assert.deepEqual(parseManifest(JSON.stringify({ ...base, canary: { version: 2, percent: 20 } }), 'GET x').canary, { version: 2, percent: 20 });
  assert.equal(parseManifest(JSON.stringify(base), 'GET x').canary, undefined);
  assert.throws(() => parseManifest(JSON.stringify({ ...base, canary: { version: 2, percent: -1 } }), 'GET x'), /GET x: invalid manifest: canary\.percent must be a number from 0 to 100/);
});

test('user ids made for a browser are random v4 UUIDs, also where crypto.randomUUID is missing (insecure contexts); no IndexedDB → none', async () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  for (const secure of [true, false]) {
    const ids = new Set(Array.from({ length: 200 }, () => randomUserId(secure)));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, uuid);
  }
  assert.equal(await deviceUserId(undefined), undefined);
});
