// On-demand loading (modelLoading: 'on-demand') end to end: three real dense graph models (each with its
// own weights, so each answer says which model ran) in a real HTTP repository on 127.0.0.1, a budget
// that fits two of them, the wasm backend, and TF Serving's REST API on a real HTTP server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { harness, predictDense, valueOf } from '../helpers/serving.js';
import type { Harness } from '../helpers/serving.js';
import { denseExpected } from '../helpers/models.js';
import { METRIC_NAMES, ServingError } from '../../src/index.js';
import type { LocalModelServer, ModelServer } from '../../src/index.js';
import { startRestServer } from '../../src/rest/node-http.js';

/** Model name → the kernel its dense model multiplies by. */
const KERNELS = { a: 2, b: 3, c: 5 } as const;
type Name = keyof typeof KERNELS;
const NAMES = Object.keys(KERNELS) as Name[]; // the keys of KERNELS, literally

async function publishAll(h: Harness): Promise<number> {
  for (const name of NAMES) await h.publishDense(name, 1, KERNELS[name]);
  // The manager's estimate of one version: 1.2 × the bytes of its files (the same for the three).
  const manifest = JSON.parse(await readFile(join(h.repoDir, 'a', 'manifest.json'), 'utf8')) as { versions: Array<{ files: Array<{ size: number }> }> };
  return Math.ceil(1.2 * manifest.versions[0]!.files.reduce((s, f) => s + f.size, 0));
}

function startOnDemand(h: Harness, budget: number): Promise<LocalModelServer> {
  return h.start({ models: [...NAMES], modelLoading: 'on-demand', totalModelMemoryLimitBytes: budget });
}

async function check(server: ModelServer, name: Name, x: number, options?: { timeoutMs?: number }): Promise<void> {
  const r = await server.predict({ model: name, inputs: { 'dense_dense1_input:0': [[x]] } }, options);
  assert.equal(r.model.name, name);
  assert.equal(valueOf(r), denseExpected(KERNELS[name], 0, x), `model ${name} answered`);
}

async function states(server: ModelServer): Promise<string> {
  const out: string[] = [];
  for (const name of NAMES) {
    // A model never loaded has no version state yet: NOT_FOUND, as TF Serving says it.
    const s = await server.getModelStatus(name).then((r) => r.model_version_status[0]?.state, (e: ServingError) => (e.code === 'NOT_FOUND' ? '-' : e.code));
    out.push(`${name}:${s}`);
  }
  return out.join(' ');
}

/** The on-demand counters as "metric model[/result]=value" strings, sorted. */
async function onDemandCounts(server: ModelServer): Promise<string[]> {
  const m = await server.metrics();
  const out: string[] = [];
  for (const [key, short] of [[METRIC_NAMES.onDemandLoads, 'load'], [METRIC_NAMES.onDemandEvictions, 'evict'], [METRIC_NAMES.onDemandRequests, 'req']] as const) {
    const metric = m[key];
    if (metric?.type !== 'counter') continue;
    for (const s of metric.samples) out.push(`${short} ${s.labels.model_name}${s.labels.result ? `/${s.labels.result}` : ''}=${s.value}`);
  }
  return out.sort();
}

test('on demand, a budget for two of three models: loaded when asked, the least recently used evicted, no request fails, tensors freed', async () => {
  const h = await harness();
  try {
    const estimate = await publishAll(h);
    const baseline = tf.memory().numTensors;
    const server = await startOnDemand(h, Math.floor(2.5 * estimate));
    // Every model is downloaded into the store at start; none is loaded until asked for.
    for (const name of NAMES) assert.deepEqual(await server.store.listVersions(name), [1]);
    assert.equal(await states(server), 'a:- b:- c:-');
    assert.equal(tf.memory().numTensors, baseline, 'nothing loaded at start');

    await check(server, 'a', 1);
    await check(server, 'b', 2);
    const twoResident = tf.memory().numTensors;
    assert.ok(twoResident > baseline, 'two models hold their weights');
    await check(server, 'a', 3); // a hit: a is now the most recently used
    await check(server, 'c', 4); // c must fit: b, the least recently used, goes
    await server.whenIdle();
    assert.equal(await states(server), 'a:AVAILABLE b:END c:AVAILABLE');
    await check(server, 'b', 5); // a is now the least recently used
    await server.whenIdle();
    assert.equal(await states(server), 'a:END b:AVAILABLE c:AVAILABLE');
    assert.equal(tf.memory().numTensors, twoResident, 'an evicted model freed its tensors');
    assert.deepEqual(await onDemandCounts(server), [
      'evict a=1', 'evict b=1',
      'load a=1', 'load b=2', 'load c=1',
      'req a/hit=1', 'req a/miss=1', 'req b/miss=2', 'req c/miss=1',
    ]);
    const waits = (await server.metrics())[METRIC_NAMES.onDemandWaitLatency];
    assert.equal(waits?.type, 'histogram');
    if (waits?.type === 'histogram') assert.equal(waits.samples.reduce((n, s) => n + s.count, 0), 4, 'each miss recorded its wait');

    // Mixed concurrent traffic over the three: every request answers from its own model.
    const mixed: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) mixed.push(check(server, NAMES[i % 3]!, i));
    await Promise.all(mixed);
    await server.whenIdle();
    const resident = NAMES.filter((n) => server.getModelStatusNow(n).model_version_status[0]?.state === 'AVAILABLE');
    assert.equal(resident.length, 2, `two of three resident, got ${resident.join(',')}`);
    assert.equal(tf.memory().numTensors, twoResident);

    await server.reloadConfig({ modelConfigList: [] });
    await server.whenIdle();
    assert.equal(tf.memory().numTensors, baseline, 'back to the baseline once every model is gone');
  } finally {
    await h.close();
  }
});

test('on demand: concurrent first requests share one load; requests that waited run even when another model wants the memory; REST waits too', async () => {
  const h = await harness();
  try {
    const estimate = await publishAll(h);
    const server = await startOnDemand(h, Math.floor(1.5 * estimate)); // one model at a time
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 5; i++) burst.push(check(server, 'a', i), check(server, 'b', i));
    await Promise.all(burst);
    await server.whenIdle();
    assert.deepEqual(await onDemandCounts(server), ['evict a=1', 'load a=1', 'load b=1', 'req a/miss=5', 'req b/miss=5']);
    assert.equal(await states(server), 'a:END b:AVAILABLE c:-');

    // TF Serving's REST API: the signature lookup and the prediction wait for the load as well.
    const rest = await startRestServer(server, { port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${rest.port}/v1/models/c:predict`, { method: 'POST', body: JSON.stringify({ instances: [[2]] }) });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), { predictions: [[denseExpected(KERNELS.c, 0, 2)]] });
      const status = await fetch(`http://127.0.0.1:${rest.port}/v1/models/b`);
      assert.match(await status.text(), /"state": ?"END"/);
    } finally {
      await rest.close();
    }
  } finally {
    await h.close();
  }
});

test('on demand: a load that cannot finish before the deadline → DEADLINE_EXCEEDED, and the next request is served', async () => {
  const h = await harness();
  try {
    const estimate = await publishAll(h);
    const server = await startOnDemand(h, Math.floor(2.5 * estimate));
    await assert.rejects(check(server, 'a', 1, { timeoutMs: 1 }), (e: ServingError) => e.code === 'DEADLINE_EXCEEDED' && /loaded on demand/.test(e.message));
    await check(server, 'a', 1, { timeoutMs: 30_000 });
    await check(server, 'a', 2, { timeoutMs: 30_000 });
    const counts = await onDemandCounts(server);
    assert.ok(counts.includes('req a/miss=2') && counts.includes('req a/hit=1'), counts.join(', '));
  } finally {
    await h.close();
  }
});

test('on demand: a model bigger than the whole budget → RESOURCE_EXHAUSTED naming the sizes; an unknown model → NOT_FOUND; a bad mode → INVALID_ARGUMENT', async () => {
  const h = await harness();
  try {
    const estimate = await publishAll(h);
    const budget = Math.floor(estimate / 2);
    const server = await startOnDemand(h, budget);
    await assert.rejects(
      check(server, 'b', 1),
      (e: ServingError) => e.code === 'RESOURCE_EXHAUSTED' && e.message.includes(`needs an estimated ${estimate} bytes`) && e.message.includes(`${budget}-byte totalModelMemoryLimitBytes`),
    );
    await assert.rejects(predictDense(server, 1, { model: 'nope' }), (e: ServingError) => e.code === 'NOT_FOUND');
    await assert.rejects(predictDense(server, 1, { model: 'a', version: 7 }), (e: ServingError) => e.code === 'NOT_FOUND' && /Specific\(a, 7\)/.test(e.message));
    await assert.rejects(
      h.start({ models: ['a'], modelLoading: 'lazy' as 'on-demand' }), // a wrong value on purpose
      (e: ServingError) => e.code === 'INVALID_ARGUMENT' && /modelLoading must be "eager" or "on-demand", got "lazy"/.test(e.message),
    );
  } finally {
    await h.close();
  }
});
