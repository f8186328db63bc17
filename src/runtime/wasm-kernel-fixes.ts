// Fixes for TF.js 4.22 wasm kernels that return wrong values without an error:
// - Add, Sub, Multiply, RealDiv, SquaredDifference and PadV2 go through XNNPACK, whose XNN_MAX_TENSOR_DIMS
//   is 6: above rank 6 the setup fails and the output is uninitialized memory. Here they run on
//   views with the dimensions that behave alike merged (rank ≤ 6 for nearly every real shape; a pad
//   of more than 6 dimensions runs in two passes), and throw when no such view exists, never answer
//   garbage.
// - Cast to bool copies the bytes (0.5 → false, -4.5 → 252): here x != 0, as TF casts.
import * as tf from '@tensorflow/tfjs';

const XNN_MAX_DIMS = 6;
const BINARY = [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.SquaredDifference];

/** What the wasm backend offers a kernel (the parts used here). */
interface WasmBackend {
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; attrs?: Record<string, unknown>; backend: WasmBackend };
type Kernel = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** A view of `t` with another shape of the same size (what the wasm Reshape kernel does). */
function view(backend: WasmBackend, t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  backend.incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** `xs[i]`, which the caller knows is in range. */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`index ${i} out of range (${xs.length})`);
  return x;
}

/** A kernel's one output (these kernels have one). */
function single(r: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  if (Array.isArray(r)) throw new Error('expected one output');
  return r;
}

/**
 * Shapes of a, b and the output with adjacent dimensions merged where both inputs broadcast alike
 * (both full, only a broadcast, only b broadcast); dimensions of size 1 in the output are dropped.
 */
export function collapseBroadcast(a: readonly number[], b: readonly number[]): { a: number[]; b: number[]; out: number[] } {
  const rank = Math.max(a.length, b.length);
  const pa = [...new Array<number>(rank - a.length).fill(1), ...a];
  const pb = [...new Array<number>(rank - b.length).fill(1), ...b];
  const out: { a: number[]; b: number[]; out: number[] } = { a: [], b: [], out: [] };
  let last = '';
  for (let i = 0; i < rank; i++) {
    const da = at(pa, i);
    const db = at(pb, i);
    const o = Math.max(da, db);
    if (o === 1) continue;
    const kind = da === o && db === o ? 'full' : da === o ? 'b-broadcast' : 'a-broadcast';
    const k = out.out.length - 1;
    if (kind === last) {
      out.a[k] = at(out.a, k) * da;
      out.b[k] = at(out.b, k) * db;
      out.out[k] = at(out.out, k) * o;
    } else {
      out.a.push(da);
      out.b.push(db);
      out.out.push(o);
      last = kind;
    }
  }
  return out;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  return tf.backend_util.assertAndGetBroadcastShape([...a], [...b]);
}

function fixBinary(name: string, original: Kernel): Kernel {
  return (args) => {
    const { a, b } = args.inputs;
    if (!a || !b || Math.max(a.shape.length, b.shape.length) <= XNN_MAX_DIMS) return original(args);
    const outShape = broadcastShape(a.shape, b.shape);
    const c = collapseBroadcast(a.shape, b.shape);
    if (c.out.length > XNN_MAX_DIMS) {
      throw new Error(`${name} on the wasm backend: shapes [${a.shape}] and [${b.shape}] have rank ${outShape.length} and do not reduce to rank ${XNN_MAX_DIMS} (XNNPACK's limit); serve this model on the cpu backend`);
    }
    const backend = args.backend;
    const va = view(backend, a, c.a.length ? c.a : [1]);
    const vb = view(backend, b, c.b.length ? c.b : [1]);
    try {
      const out = single(original({ ...args, inputs: { a: va, b: vb } }));
      const result = view(backend, out, outShape);
      backend.disposeData(out.dataId);
      return result;
    } finally {
      backend.disposeData(va.dataId);
      backend.disposeData(vb.dataId);
    }
  };
}

/** Pads merged: a padded dimension takes the unpadded dimensions after it (its padding scaled by them). */
export function collapsePadding(shape: readonly number[], paddings: ReadonlyArray<readonly [number, number]>): { shape: number[]; paddings: Array<[number, number]> } {
  const out: { shape: number[]; paddings: Array<[number, number]> } = { shape: [], paddings: [] };
  for (let i = 0; i < shape.length; i++) {
    const [before, after] = at(paddings, i);
    const d = at(shape, i);
    const padded = before !== 0 || after !== 0;
    const k = out.shape.length - 1;
    if (!padded && k >= 0) {
      const [b0, a0] = at(out.paddings, k);
      out.shape[k] = at(out.shape, k) * d;
      out.paddings[k] = [b0 * d, a0 * d];
    } else {
      out.shape.push(d);
      out.paddings.push([before, after]);
    }
  }
  return out;
}

function fixPad(original: Kernel): Kernel {
  return (args) => {
    const x = args.inputs.x;
    if (!x || x.shape.length <= XNN_MAX_DIMS) return original(args);
    // PadV2's attrs (PadV2Attrs): one [before, after] pair per dimension.
    const paddings = args.attrs?.paddings as Array<[number, number]>;
    const outShape = x.shape.map((d, i) => d + at(paddings, i)[0] + at(paddings, i)[1]);
    const c = collapsePadding(x.shape, paddings);
    const backend = args.backend;
    if (c.shape.length > XNN_MAX_DIMS) {
      // Too many padded dimensions for one pass: the first half, then the second.
      const half = Math.ceil(x.shape.length / 2);
      if (half > XNN_MAX_DIMS) throw new Error(`PadV2 on the wasm backend: a rank ${x.shape.length} tensor padded in ${c.shape.length} dimensions is beyond XNNPACK's limit of ${XNN_MAX_DIMS}; serve this model on the cpu backend`);
      const first = paddings.map((p, i) => (i < half ? p : [0, 0]));
      const second = paddings.map((p, i) => (i < half ? [0, 0] : p));
      const self = fixPad(original);
      const mid = single(self({ ...args, attrs: { ...args.attrs, paddings: first } }));
      try {
        return self({ ...args, inputs: { x: mid }, attrs: { ...args.attrs, paddings: second } });
      } finally {
        backend.disposeData(mid.dataId);
      }
    }
    const vx = view(backend, x, c.shape);
    try {
      const out = single(original({ ...args, inputs: { x: vx }, attrs: { ...args.attrs, paddings: c.paddings } }));
      const result = view(backend, out, outShape);
      backend.disposeData(out.dataId);
      return result;
    } finally {
      backend.disposeData(vx.dataId);
    }
  };
}

function fixCast(original: Kernel): Kernel {
  return (args) => {
    const x = args.inputs.x;
    if (!x || args.attrs?.dtype !== 'bool' || x.dtype === 'bool') return original(args);
    const out = args.backend.makeOutput(x.shape, 'bool');
    const from = args.backend.typedArrayFromHeap(x);
    const to = args.backend.typedArrayFromHeap(out);
    for (let i = 0; i < from.length; i++) to[i] = from[i] !== 0 ? 1 : 0;
    return out;
  };
}

let patched = false;

/** Replaces the wasm kernels above with their fixed versions (once; after the wasm backend module is imported). */
export function patchWasmKernels(): void {
  if (patched) return;
  const replace = (name: string, fix: (k: Kernel) => Kernel) => {
    const config = tf.getKernel(name, 'wasm');
    if (!config) return;
    tf.unregisterKernel(name, 'wasm');
    // tf.KernelFunc types its args loosely (NamedTensorInfoMap, a generic backend): these kernels take the wasm backend's.
    tf.registerKernel({ ...config, kernelFunc: fix(config.kernelFunc as unknown as Kernel) as unknown as tf.KernelFunc });
  };
  for (const name of BINARY) replace(name, (k) => fixBinary(name, k));
  replace(tf.PadV2, fixPad);
  replace(tf.Cast, fixCast);
  patched = true;
}
