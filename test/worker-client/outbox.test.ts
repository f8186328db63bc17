// The worker's outbox over a real MessageChannel (structured clone and transfer as a worker's
// postMessage does them): one turn's messages leave as one bundle, in order; a value that cannot be
// cloned fails only its own call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { Outbox } from '../../worker/outbox.js';
import type { WorkerMessage } from '../../src/worker-client/protocol.js';

function channel(): { outbox: Outbox; received: () => Promise<WorkerMessage[]>; close: () => void } {
  const { port1, port2 } = new MessageChannel();
  const got: WorkerMessage[] = [];
  port2.on('message', (m: WorkerMessage) => got.push(m));
  const outbox = new Outbox((message, transfer) => port1.postMessage(message, transfer as ArrayBuffer[]));
  return {
    outbox,
    // Messages arrive on a later turn: wait a few.
    received: async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      return got;
    },
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

test('the messages of one turn leave as one bundle, in order; a lone message is not wrapped', async () => {
  const c = channel();
  try {
    const buffers = [1, 2, 3].map((v) => new Float32Array([v]).buffer);
    for (const [i, b] of buffers.entries()) c.outbox.send({ kind: 'result', id: i, value: new Float32Array(b) }, [b]);
    c.outbox.send({ kind: 'event', event: { type: 'statechange', init: {} } as never });
    await new Promise((r) => setImmediate(r)); // the next turn
    c.outbox.send({ kind: 'result', id: 9, value: 'alone' });
    const got = await c.received();
    assert.equal(got.length, 2);
    const [bundle, alone] = got;
    assert.equal(bundle?.kind, 'bundle');
    const inner = bundle?.kind === 'bundle' ? bundle.messages : [];
    assert.deepEqual(inner.map((m) => m.kind), ['result', 'result', 'result', 'event']);
    assert.deepEqual(inner.slice(0, 3).map((m) => (m.kind === 'result' ? [m.id, ...(m.value as Float32Array)] : [])), [[0, 1], [1, 2], [2, 3]]);
    assert.ok(buffers.every((b) => b.byteLength === 0), 'the buffers were transferred, not copied');
    assert.deepEqual(alone, { kind: 'result', id: 9, value: 'alone' });
  } finally {
    c.close();
  }
});

test('a buffer listed by two answers is transferred once (listing it twice would fail the post)', async () => {
  const c = channel();
  try {
    const shared = new Float32Array([5, 6]);
    c.outbox.send({ kind: 'result', id: 1, value: shared.subarray(0, 1) }, [shared.buffer]);
    c.outbox.send({ kind: 'result', id: 2, value: shared.subarray(1, 2) }, [shared.buffer]);
    const got = await c.received();
    assert.equal(got.length, 1);
    const inner = got[0]?.kind === 'bundle' ? got[0].messages : [];
    assert.deepEqual(inner.map((m) => (m.kind === 'result' ? [...(m.value as Float32Array)] : [])), [[5], [6]]);
  } finally {
    c.close();
  }
});

test('an answer that cannot be cloned fails alone: its batch-mates are delivered, it gets an INTERNAL error', async () => {
  const c = channel();
  try {
    c.outbox.send({ kind: 'result', id: 1, value: [1] });
    c.outbox.send({ kind: 'result', id: 2, value: { f: () => 0 } });
    c.outbox.send({ kind: 'result', id: 3, value: [3] });
    const got = await c.received();
    assert.deepEqual(got.map((m) => m.kind), ['result', 'error', 'result']);
    assert.deepEqual(got[0], { kind: 'result', id: 1, value: [1] });
    const error = got[1];
    assert.ok(error?.kind === 'error' && error.id === 2 && error.code === 'INTERNAL' && /cannot be sent to the page/.test(error.message), JSON.stringify(error));
    assert.deepEqual(got[2], { kind: 'result', id: 3, value: [3] });
  } finally {
    c.close();
  }
});
