// The request-body JSON parser: reads the body's bytes (never one JS string of the whole body) with
// TF Serving's grammar and error messages (json.ts), and keeps every regular nested list of numbers
// as a DenseNumbers byte range instead of JS arrays of numbers. Memory is the body plus, for what is
// not a dense block (objects, strings, ragged lists), a budget: past it RESOURCE_EXHAUSTED.
import { ServingError } from '../core/status.js';
import { DenseNumbers, numberOfToken } from './dense-numbers.js';
import type { JsonValue } from './json.js';

/** A parsed body value: JSON, where a regular nested list of numbers may be a DenseNumbers block. */
export type BodyValue = null | boolean | number | string | DenseNumbers | BodyValue[] | { [key: string]: BodyValue };

export interface ParseBytesOptions {
  /** Keep regular lists of numbers as DenseNumbers (default true); false gives plain JSON values. */
  dense?: boolean;
  /**
   * Estimated bytes the values outside dense blocks may take as JS objects (default: 8 × the body
   * plus 16 MiB): a body of millions of short strings or empty lists is refused with
   * RESOURCE_EXHAUSTED instead of taking the server down.
   */
  maxObjectBytes?: number;
}

const MAX_DEPTH = 512;
// Rough V8 costs, for the budget: an object or array, a string (plus 2 bytes a character), a slot.
const COST_NODE = 64;
const COST_STRING = 32;
const COST_SLOT = 16;

/** Parses a JSON body (UTF-8 bytes). Errors are INVALID_ARGUMENT "JSON Parse error: <what> at offset: <n>" (byte offsets, like rapidjson). */
export function parseJsonBytes(bytes: Uint8Array, options: ParseBytesOptions = {}): BodyValue {
  const p = new BytesParser(bytes, options.dense ?? true, options.maxObjectBytes ?? 8 * bytes.length + 16 * (1 << 20));
  // A UTF-8 byte order mark is skipped, as Request.text() (which read bodies before) skips it.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) p.i = 3;
  p.ws();
  if (p.i >= bytes.length) throw new ServingError('INVALID_ARGUMENT', 'JSON Parse error: The document is empty.');
  const value = p.value(0);
  p.ws();
  if (p.i < bytes.length) p.fail('The document root must not be followed by other values.');
  return value;
}

/** A BodyValue with its dense blocks expanded to plain arrays (for small values only). */
export function toJsonValue(v: BodyValue): JsonValue {
  if (v instanceof DenseNumbers) return v.toNested() as JsonValue; // nested lists of numbers
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (typeof v === 'object' && v !== null) {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) defineMember(out, k, toJsonValue(x));
    return out;
  }
  return v;
}

function defineMember<T>(out: { [key: string]: T }, key: string, v: T): void {
  // A "__proto__" member is data, never the prototype.
  if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  else out[key] = v;
}

const utf8 = new TextDecoder();

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function startsWith(b: Uint8Array, i: number, word: string): boolean {
  if (i + word.length > b.length) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

type Mode = 'numbers' | 'dense' | 'generic';

class BytesParser {
  i = 0;
  private used = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly dense: boolean,
    private readonly budget: number,
  ) {}

  fail(what: string, at = this.i): never {
    throw new ServingError('INVALID_ARGUMENT', `JSON Parse error: ${what} at offset: ${at}`);
  }

  private spend(bytes: number): void {
    this.used += bytes;
    if (this.used > this.budget) {
      throw new ServingError(
        'RESOURCE_EXHAUSTED',
        `the request body (${this.b.length} bytes) holds too many values outside regular lists of numbers (strings, objects, ragged or mixed lists) ` +
          `to decode within ${this.budget} bytes of memory; send tensors as regular nested lists of numbers, or split the request`,
      );
    }
  }

  ws(): void {
    const b = this.b;
    while (this.i < b.length) {
      const c = b[this.i]!; // this.i < b.length: the loop condition
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(depth: number): BodyValue {
    if (depth > MAX_DEPTH) this.fail('Nesting is too deep.');
    const c = this.b[this.i];
    switch (c) {
      case 0x7b: // {
        return this.object(depth);
      case 0x5b: // [
        return this.array(depth);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (this.isNumberStart(c)) {
          const start = this.i;
          this.numberToken();
          return numberOfToken(this.b, start, this.i);
        }
        return this.fail('Invalid value.');
    }
  }

  private isNumberStart(c: number | undefined): boolean {
    return c === 0x2d || c === 0x4e || c === 0x49 || isDigit(c); // - N I digit
  }

  literal<T extends BodyValue>(word: string, v: T): T {
    if (!startsWith(this.b, this.i, word)) this.fail('Invalid value.');
    this.i += word.length;
    return v;
  }

  /** Skips one number token (checked like json.ts, and refused when it overflows a double like rapidjson). */
  numberToken(): void {
    const b = this.b;
    const start = this.i;
    if (b[this.i] === 0x4e) {
      this.literal('NaN', 0);
      return;
    }
    if (b[this.i] === 0x49) {
      if (startsWith(b, this.i, 'Infinity')) this.i += 8;
      else this.literal('Inf', 0);
      return;
    }
    if (b[this.i] === 0x2d) {
      this.i++;
      if (startsWith(b, this.i, 'Infinity')) {
        this.i += 8;
        return;
      }
      if (startsWith(b, this.i, 'Inf')) {
        this.i += 3;
        return;
      }
    }
    let j = this.i;
    if (b[j] === 0x30) j++;
    else if (isDigit(b[j])) while (isDigit(b[j])) j++;
    else this.fail('Invalid value.', start);
    const intDigits = j - this.i;
    if (b[j] === 0x2e && isDigit(b[j + 1])) {
      j++;
      while (isDigit(b[j])) j++;
    }
    let exponent = false;
    if (b[j] === 0x65 || b[j] === 0x45) {
      let k = j + 1;
      if (b[k] === 0x2b || b[k] === 0x2d) k++;
      if (isDigit(b[k])) {
        while (isDigit(b[k])) k++;
        j = k;
        exponent = true;
      }
    }
    if (b[j] === 0x2e) this.fail('Missing fraction part in number.', j + 1);
    this.i = j;
    if ((exponent || intDigits > 300) && !Number.isFinite(numberOfToken(b, start, j))) {
      this.fail('Number too big to be stored in double.', start);
    }
  }

  string(): string {
    const b = this.b;
    const start = this.i;
    this.i++;
    let out = '';
    let run = this.i;
    for (;;) {
      if (this.i >= b.length) this.fail('Missing a closing quotation mark in string.', start);
      const c = b[this.i]!; // this.i < b.length: checked just above
      if (c === 0x22) {
        out += utf8.decode(b.subarray(run, this.i));
        this.i++;
        this.spend(COST_STRING + out.length * 2);
        return out;
      }
      if (c < 0x20) this.fail('Invalid encoding in string.');
      if (c === 0x5c) {
        out += utf8.decode(b.subarray(run, this.i));
        const e = b[this.i + 1];
        const simple: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.i += 2;
        } else if (e === 0x75) {
          let hex = '';
          for (let k = this.i + 2; k < this.i + 6 && k < b.length; k++) hex += String.fromCharCode(b[k]!); // k < b.length: the loop condition
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('Incorrect hex digit after \\u escape in string.', this.i + 2);
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 6;
        } else {
          this.fail('Invalid escape character in string.', this.i + 1);
        }
        run = this.i;
        continue;
      }
      this.i++;
    }
  }

  /**
   * A list: while every element is a number (or every element a dense block of one shape) it stays a
   * DenseNumbers range and no element is kept; the first element that breaks that turns it into a
   * JS array (the numbers before it decoded again from the bytes).
   */
  array(depth: number): BodyValue {
    const b = this.b;
    const start = this.i;
    this.i++;
    this.ws();
    if (b[this.i] === 0x5d) {
      this.i++;
      this.spend(COST_NODE);
      return [];
    }
    let mode: Mode = this.dense ? 'numbers' : 'generic';
    let count = 0; // elements so far
    // In dense mode only the first block is kept (a batch of a million rows keeps no row objects).
    let firstBlock: DenseNumbers | undefined;
    let out: BodyValue[] = [];
    const toGeneric = () => {
      this.spend(COST_NODE + count * (mode === 'dense' ? COST_SLOT + 2 * COST_NODE : COST_SLOT));
      if (mode === 'numbers') out = new DenseNumbers(b, start, this.i, [count], count).toArray();
      else if (mode === 'dense') out = this.reparseBlocks(start, count, depth);
      firstBlock = undefined;
      mode = 'generic';
    };
    for (;;) {
      const c = b[this.i];
      if (mode === 'numbers' && this.isNumberStart(c)) {
        if (count === 0 && depth + 1 > MAX_DEPTH) this.fail('Nesting is too deep.');
        this.numberToken();
      } else {
        if (mode === 'numbers' && count > 0) toGeneric();
        const v = this.value(depth + 1);
        if (mode === 'numbers' && count === 0) mode = v instanceof DenseNumbers ? 'dense' : 'generic';
        if (mode === 'dense') {
          if (v instanceof DenseNumbers && (firstBlock === undefined || sameShape(firstBlock.shape, v.shape))) firstBlock ??= v;
          else {
            toGeneric();
            out.push(v);
          }
        } else {
          out.push(v);
          this.spend(v instanceof DenseNumbers ? COST_SLOT + 2 * COST_NODE : COST_SLOT);
        }
      }
      count++;
      this.ws();
      const d = b[this.i];
      if (d === 0x2c) {
        this.i++;
        this.ws();
      } else if (d === 0x5d) {
        this.i++;
        if (mode === 'numbers') return new DenseNumbers(b, start, this.i, [count], count);
        if (mode === 'dense') {
          const inner = firstBlock!; // dense mode is entered with its first block
          return new DenseNumbers(b, start, this.i, [count, ...inner.shape], count * inner.count);
        }
        return out;
      } else {
        this.fail("Missing a comma or ']' after an array element.");
      }
    }
  }

  /** The first `count` elements (dense blocks, already checked) of the list at `start`, parsed again. */
  private reparseBlocks(start: number, count: number, depth: number): BodyValue[] {
    const here = this.i;
    this.i = start + 1;
    const out: BodyValue[] = [];
    for (let k = 0; k < count; k++) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      if (this.b[this.i] === 0x2c) this.i++;
    }
    this.i = here;
    return out;
  }

  object(depth: number): { [key: string]: BodyValue } {
    const b = this.b;
    this.i++;
    const out: { [key: string]: BodyValue } = {};
    this.spend(COST_NODE);
    this.ws();
    if (b[this.i] === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      if (b[this.i] !== 0x22) this.fail('Missing a name for object member.');
      const key = this.string();
      this.ws();
      if (b[this.i] !== 0x3a) this.fail('Missing a colon after a name of object member.');
      this.i++;
      this.ws();
      defineMember(out, key, this.value(depth + 1));
      this.spend(COST_SLOT);
      this.ws();
      const c = b[this.i];
      if (c === 0x2c) {
        this.i++;
        this.ws();
      } else if (c === 0x7d) {
        this.i++;
        return out;
      } else {
        this.fail("Missing a comma or '}' after an object member.");
      }
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
