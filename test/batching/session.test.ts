// The batching session with a recording runner: concatenation, padding to allowed sizes, splitting
// back, shape keys, variable-length padding, large batch splitting, and the unsplittable fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingSession } from '../../src/batching/batching-session.js';
import type { BatchingMetricsSink } from '../../src/batching/batching-session.js';
import { normalizeBatchingParameters } from '../../src/batching/batching-parameters.js';
import type { BatchingParameters } from '../../src/batching/batching-parameters.js';
import type { ValidatedInput } from '../../src/runtime/input-validation.js';
import type { SignatureSpec } from '../../src/runtime/signature.js';
import type { TensorOutput } from '../../src/runtime/tensor.js';
import { ServingError } from '../../src/index.js';

const SPEC = { key: 'x', name: 'x:0', tfDtype: 'DT_FLOAT', dtype: 'float32', shape: [-1, -1] } as const;
const SIGNATURE: SignatureSpec = { name: 'serving_default', methodName: 'tensorflow/serving/predict', inputs: [SPEC], outputs: [] };

function input(shape: number[], values: number[]): ValidatedInput[] {
  return [{ spec: SPEC, dtype: 'float32', shape, values: new Float32Array(values) }];
}

/** A runner computing y = 2x (row for row) and recording the shapes it was given. */
function setup(params: BatchingParameters, opts: { graphShape?: number[]; reduce?: boolean; outputRows?: 'views' | 'copies' } = {}) {
  const runs: number[][] = [];
  const stats = { queued: 0, batches: [] as Array<[number, number]>, runs: 0 };
  const metrics: BatchingMetricsSink = {
    queuingLatency: () => void stats.queued++,
    batch: (i, p) => void stats.batches.push([i, p]),
    wrappedRun: () => void stats.runs++,
  };
  const session = new BatchingSession({
    signature: SIGNATURE,
    graphShape: () => opts.graphShape ?? [-1, -1],
    parameters: normalizeBatchingParameters(params),
    metrics,
    ...(opts.outputRows ? { outputRows: opts.outputRows } : {}),
    run: async (inputs) => {
      const x = inputs[0]!;
      runs.push([...x.shape]);
      const y = Float32Array.from(x.values as Float32Array, (v) => v * 2);
      const out: Record<string, TensorOutput> = { y: { dtype: 'float32', shape: [...x.shape], data: y } };
      if (opts.reduce) out.total = { dtype: 'float32', shape: [], data: new Float32Array([y.reduce((a, b) => a + b, 0)]) };
      return out;
    },
  });
  return { session, runs, stats };
}

const data = (o: Record<string, TensorOutput>, k = 'y') => [...(o[k]!.data as Float32Array)];

test('concurrent requests run as one batch and each gets its own rows back', async () => {
  const { session, runs, stats } = setup({ maxBatchSize: 8 });
  const [a, b, c] = await Promise.all([session.run(input([1, 2], [1, 2])), session.run(input([2, 2], [3, 4, 5, 6])), session.run(input([1, 2], [7, 8]))]);
  assert.deepEqual(runs, [[4, 2]]);
  assert.deepEqual(data(a!), [2, 4]);
  assert.deepEqual(a!.y!.shape, [1, 2]);
  assert.deepEqual(data(b!), [6, 8, 10, 12]);
  assert.deepEqual(b!.y!.shape, [2, 2]);
  assert.deepEqual(data(c!), [14, 16]);
  assert.deepEqual(stats.batches, [[4, 4]]);
  assert.equal(stats.queued, 3);
  // By default each request's rows are a view of the batch's one output buffer: no copy, disjoint rows.
  const [ya, yb] = [a!.y!.data as Float32Array, b!.y!.data as Float32Array];
  assert.equal(ya.buffer, yb.buffer, 'views of the one readback');
  assert.deepEqual([ya.byteOffset, ya.length, yb.byteOffset, yb.length], [0, 2, 8, 4], 'disjoint rows');
});

test('outputRows: copies gives each request an array that owns its buffer', async () => {
  const { session } = setup({ maxBatchSize: 8 }, { outputRows: 'copies' });
  const [a, b] = await Promise.all([session.run(input([1, 2], [1, 2])), session.run(input([2, 2], [3, 4, 5, 6]))]);
  const [ya, yb] = [a!.y!.data as Float32Array, b!.y!.data as Float32Array];
  assert.notEqual(ya.buffer, yb.buffer, 'outputs do not share a buffer');
  assert.deepEqual([ya.byteLength, ya.buffer.byteLength, [...ya], [...yb]], [8, 8, [2, 4], [6, 8, 10, 12]]);
});

test('a batch is padded up to the next allowed size with copies of a real row; padded outputs are dropped', async () => {
  const { session, runs, stats } = setup({ maxBatchSize: 8, allowedBatchSizes: [2, 4, 8] });
  const outs = await Promise.all([1, 2, 3].map((v) => session.run(input([1, 1], [v]))));
  assert.deepEqual(runs, [[4, 1]]);
  assert.deepEqual(outs.map((o) => data(o)), [[2], [4], [6]]);
  assert.deepEqual(stats.batches, [[3, 4]]);
  const one = await session.run(input([1, 1], [5]));
  assert.deepEqual(data(one), [10]);
  assert.deepEqual(runs.at(-1), [2, 1], 'a single row is padded to 2');
});

test('requests whose other dims differ run in separate batches, not as failures', async () => {
  const { session, runs } = setup({ maxBatchSize: 8 });
  const [a, b, c] = await Promise.all([session.run(input([1, 2], [1, 2])), session.run(input([1, 3], [1, 2, 3])), session.run(input([1, 2], [3, 4]))]);
  assert.deepEqual(runs, [[2, 2], [1, 3]]);
  assert.deepEqual(data(a!), [2, 4]);
  assert.deepEqual(data(b!), [2, 4, 6]);
  assert.deepEqual(data(c!), [6, 8]);
});

test('padVariableLengthInputs pads to a common shape with each tensor\'s first element', async () => {
  const { session, runs } = setup({ maxBatchSize: 8, padVariableLengthInputs: true });
  const [a, b] = await Promise.all([session.run(input([1, 2], [1, 2])), session.run(input([1, 3], [4, 5, 6]))]);
  assert.deepEqual(runs, [[2, 3]]);
  assert.deepEqual(data(a!), [2, 4, 2], 'padded with its first element (1 → 2)');
  assert.deepEqual(data(b!), [8, 10, 12]);
});

test('large batch splitting: a request is cut across batches and its outputs joined back', async () => {
  const { session, runs } = setup({ maxBatchSize: 8, enableLargeBatchSplitting: true, maxExecutionBatchSize: 2 });
  const out = await session.run(input([5, 1], [1, 2, 3, 4, 5]));
  assert.deepEqual(runs, [[2, 1], [2, 1], [1, 1]]);
  assert.deepEqual(out.y!.shape, [5, 1]);
  assert.deepEqual(data(out), [2, 4, 6, 8, 10]);
  await assert.rejects(session.run(input([9, 1], new Array(9).fill(1))), /INVALID_ARGUMENT|Task size 9 is larger than maximum input batch size 8/);
});

test('outputs whose dim 0 is not the batch size: the batch re-runs request by request, then the signature runs unbatched', async () => {
  const { session, runs } = setup({ maxBatchSize: 8 }, { reduce: true });
  const [a, b] = await Promise.all([session.run(input([1, 1], [1])), session.run(input([2, 1], [2, 3]))]);
  assert.deepEqual(runs, [[3, 1], [1, 1], [2, 1]]);
  assert.deepEqual(data(a!, 'total'), [2]);
  assert.deepEqual(data(b!, 'total'), [10]);
  assert.match(session.unbatchedReason!, /output "total" has shape \[\], whose dim 0 is not the batch size 3/);
  await Promise.all([session.run(input([1, 1], [1])), session.run(input([1, 1], [1]))]);
  assert.deepEqual(runs.slice(3), [[1, 1], [1, 1]], 'no more batches');
});

test('a fixed batch dimension or unknown rank is never batched; a request whose inputs disagree on dim 0 runs alone', async () => {
  const fixed = setup({ maxBatchSize: 8 }, { graphShape: [1, 1] });
  assert.equal(fixed.session.batchable, false);
  await Promise.all([fixed.session.run(input([1, 1], [1])), fixed.session.run(input([1, 1], [2]))]);
  assert.deepEqual(fixed.runs, [[1, 1], [1, 1]]);
  assert.deepEqual(fixed.stats.batches, []);
  const zero = setup({ maxBatchSize: 8 });
  await zero.session.run(input([0, 1], []));
  assert.deepEqual(zero.stats.batches, [], 'an empty request runs alone');
});

test('a failing run fails its batch-mates with its error; the queue goes on', async () => {
  let fail = true;
  const session = new BatchingSession({
    signature: SIGNATURE,
    graphShape: () => [-1, 1],
    parameters: normalizeBatchingParameters({ maxBatchSize: 4 }),
    run: async (inputs) => {
      if (fail) throw new ServingError('INTERNAL', 'boom');
      return { y: { dtype: 'float32', shape: [...inputs[0]!.shape], data: inputs[0]!.values as Float32Array } };
    },
  });
  const results = await Promise.allSettled([session.run(input([1, 1], [1])), session.run(input([1, 1], [2]))]);
  assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
  fail = false;
  assert.deepEqual(data(await session.run(input([1, 1], [3]))), [3]);
  session.close();
  await assert.rejects(session.run(input([1, 1], [3])), /UNAVAILABLE|unloaded/);
});
