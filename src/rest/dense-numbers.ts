// A dense block of JSON numbers (a regular nested list like [[1, 2], [3, 4]]) kept as the byte range
// it was parsed from: its values are decoded straight into the typed array of the input's dtype, so
// a big tensor never exists as an array of JS numbers.
import { formatDecimal } from './json.js';

const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

function isSeparator(c: number): boolean {
  return c === COMMA || c === OPEN || c === CLOSE || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** One number token's value: JSON numbers and the bare NaN, Infinity, Inf (optionally negative). */
export function numberOfToken(bytes: Uint8Array, start: number, end: number): number {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!); // start..end lies inside bytes (a token the parser read)
  switch (s) {
    case 'NaN':
      return Number.NaN;
    case 'Infinity':
    case 'Inf':
      return Infinity;
    case '-Infinity':
    case '-Inf':
      return -Infinity;
    default:
      return Number(s);
  }
}

export class DenseNumbers {
  constructor(
    /** The request body this block was parsed from. */
    readonly bytes: Uint8Array,
    /** Byte offset of its `[`. */
    readonly start: number,
    /** Byte offset just after its `]`. */
    readonly end: number,
    /** Its shape (every level non-empty and regular). */
    readonly shape: readonly number[],
    /** How many numbers it holds. */
    readonly count: number,
  ) {}

  /** Calls `fn` with each value in row-major order; stops early when `fn` returns false. */
  forEach(fn: (value: number, index: number) => boolean | void): void {
    const b = this.bytes;
    let i = this.start;
    let k = 0;
    while (i < this.end) {
      const c = b[i]!; // i < this.end <= b.length
      if (isSeparator(c)) {
        i++;
        continue;
      }
      const s = i;
      while (i < this.end && !isSeparator(b[i]!)) i++; // i < this.end <= b.length
      if (fn(numberOfToken(b, s, i), k++) === false) return;
    }
  }

  first(): number {
    let v = Number.NaN;
    this.forEach((x) => {
      v = x;
      return false;
    });
    return v;
  }

  /** The values as JS numbers (for small blocks only: error messages and untyped inputs). */
  toArray(): number[] {
    const out: number[] = new Array(this.count);
    this.forEach((v, i) => {
      out[i] = v;
    });
    return out;
  }

  /** The nested JS arrays it stands for (small blocks only). */
  toNested(): unknown[] {
    const flat = this.toArray();
    let k = 0;
    const build = (level: number): unknown[] => {
      const out: unknown[] = [];
      // level < shape.length: recursion stops at the last level
    for (let j = 0; j < this.shape[level]!; j++) out.push(level + 1 === this.shape.length ? flat[k++] : build(level + 1));
      return out;
    };
    return build(0);
  }

  /** JSON text of its start, as stringifyJson writes numbers, cut after about `max` characters. */
  preview(max: number): string {
    let out = '';
    const flat: number[] = [];
    this.forEach((v) => {
      flat.push(v);
      return flat.length < max;
    });
    let k = 0;
    const write = (level: number): boolean => {
      out += '[';
      // level < shape.length: recursion stops at the last level
      for (let j = 0; j < this.shape[level]!; j++) {
        if (j) out += ', ';
        if (out.length > max || k >= flat.length) return false;
        if (level + 1 === this.shape.length) {
          const v = flat[k++]!; // k < flat.length: checked at the top of the loop
          out += Number.isInteger(v) ? String(v) : formatDecimal(v, false);
        } else if (!write(level + 1)) return false;
      }
      out += ']';
      return true;
    };
    write(0);
    return out;
  }
}
