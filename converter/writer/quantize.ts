/**
 * Weight quantization, encoded as the official converter does
 * (`quantization.py`, decoded by tfjs-core `io_utils.decodeWeight`):
 * - float16: IEEE half per value, no metadata;
 * - uint8 / uint16: affine `q = round((clip(x) - min) / scale)` with the range
 *   nudged so 0.0 is exact; metadata `{min, scale}`; decode `q*scale + min`.
 * Only float32 weights are quantized. Patterns select weights by name with
 * fnmatch-style wildcards (`*`, `?`, `[...]`).
 */
import { ConverterError } from '../errors.js';

export type QuantizationDtype = 'float16' | 'uint8' | 'uint16';

/** dtype → true (every weight not matched by another pattern) or a list of patterns. */
export type QuantizationMap = Partial<Record<QuantizationDtype, true | string[]>>;

export function fnmatchToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 2);
      if (j < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, j);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Decides the quantization dtype of each weight name (undefined: none). */
export function makeQuantizationChooser(map: QuantizationMap | undefined): (name: string) => QuantizationDtype | undefined {
  if (!map) return () => undefined;
  const entries = Object.entries(map) as [QuantizationDtype, true | string[]][];
  const fallthrough = entries.filter(([, v]) => v === true).map(([k]) => k);
  if (fallthrough.length > 1) {
    throw new ConverterError('INVALID_ARGUMENT', `only one quantization dtype may apply to all weights, got ${fallthrough.join(' and ')}`);
  }
  const patterned = entries.filter(([, v]) => v !== true).map(([k, v]) => [k, (v as string[]).map(fnmatchToRegExp)] as const);
  return (name) => {
    const hits = patterned.filter(([, res]) => res.some((r) => r.test(name))).map(([k]) => k);
    if (hits.length > 1) throw new ConverterError('INVALID_ARGUMENT', `weight "${name}" matches patterns of several quantization dtypes (${hits.join(', ')})`);
    return hits[0] ?? fallthrough[0];
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float → IEEE half bits, round to nearest even. */
export function floatToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export interface QuantizedWeight {
  bytes: Uint8Array;
  quantization: { dtype: QuantizationDtype; min?: number; scale?: number; original_dtype: 'float32' };
}

export function quantize(values: Float32Array, dtype: QuantizationDtype): QuantizedWeight {
  if (dtype === 'float16') {
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]!);
    return { bytes: new Uint8Array(out.buffer), quantization: { dtype, original_dtype: 'float32' } };
  }
  const qmax = dtype === 'uint8' ? 255 : 65535;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) min = max = 0;
  let scale: number;
  let nudgedMin: number;
  if (min === max) {
    scale = 1;
    nudgedMin = min;
  } else {
    scale = (max - min) / qmax;
    nudgedMin = min <= 0 && 0 <= max ? -Math.round(-min / scale) * scale : min;
  }
  const nudgedMax = nudgedMin + scale * qmax;
  const out = dtype === 'uint8' ? new Uint8Array(values.length) : new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = Math.min(Math.max(values[i]!, nudgedMin), nudgedMax);
    out[i] = Math.round((c - nudgedMin) / scale);
  }
  // Store min/scale as float32-representable numbers, as Python's json would after np.float32.
  return {
    bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
    quantization: { dtype, min: nudgedMin, scale, original_dtype: 'float32' },
  };
}
