import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { sha256Hex, sha256HexFallback } from '../../src/storage/sha256.js';

const enc = new TextEncoder();
const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// FIPS 180-4 / NIST CAVS examples.
const vectors: [string, Uint8Array, string][] = [
  ['empty', new Uint8Array(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', enc.encode('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    '448-bit message',
    enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
  [
    '896-bit message',
    enc.encode('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'),
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
  ['one million a', new Uint8Array(1_000_000).fill(0x61), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

for (const [name, bytes, hex] of vectors) {
  test(`sha256 fallback: known vector (${name})`, async () => {
    assert.equal(sha256HexFallback(bytes), hex);
    assert.equal(await sha256Hex(bytes), hex);
  });
}

test('sha256 fallback matches node:crypto at every length around the block and padding edges', () => {
  for (let n = 0; n <= 300; n++) {
    const b = new Uint8Array(randomBytes(n));
    assert.equal(sha256HexFallback(b), nodeSha(b), `length ${n}`);
  }
});

test('sha256 fallback matches node:crypto on random buffers up to 2 MB, and on views with an offset', () => {
  for (const n of [1000, 65_537, 1 << 20, 2 * (1 << 20) + 3]) {
    const b = new Uint8Array(randomBytes(n));
    assert.equal(sha256HexFallback(b), nodeSha(b), `length ${n}`);
    const view = b.subarray(7, n - 5);
    assert.equal(sha256HexFallback(view), nodeSha(view), `view of length ${view.length}`);
  }
});

test('sha256Hex uses the fallback when WebCrypto is missing (insecure browser context)', async (t) => {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
  t.after(() => Object.defineProperty(globalThis, 'crypto', descriptor));
  Object.defineProperty(globalThis, 'crypto', { value: {}, configurable: true });
  assert.equal(globalThis.crypto.subtle, undefined);
  const b = new Uint8Array(randomBytes(12345));
  assert.equal(await sha256Hex(b), nodeSha(b));
});

test('sha256Hex with WebCrypto hashes only the view, also of a SharedArrayBuffer', async () => {
  const shared = new Uint8Array(new SharedArrayBuffer(100));
  shared.set(randomBytes(100));
  const view = shared.subarray(10, 90);
  assert.equal(await sha256Hex(view), nodeSha(view));
  const b = new Uint8Array(randomBytes(5000));
  assert.equal(await sha256Hex(b.subarray(3, 4003)), nodeSha(b.subarray(3, 4003)));
});
