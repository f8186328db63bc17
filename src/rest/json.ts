// JSON as TF Serving's REST API reads and writes it: non-strict parsing (NaN, Infinity, -Infinity,
// like rapidjson's kParseNanAndInfFlag; a literal that overflows a double, like 1e400, is an error as
// in rapidjson) and float formatting like its WriteDecimal.
import { ServingError } from '../core/status.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Parses JSON that may contain the bare tokens `NaN`, `Infinity`, `-Infinity` (also `Inf`, `-Inf`).
 * Errors are INVALID_ARGUMENT "JSON Parse error: <what> at offset: <n>", as TF Serving reports them.
 */
export function parseJson(text: string): JsonValue {
  if (text.trim() === '') throw new ServingError('INVALID_ARGUMENT', 'JSON Parse error: The document is empty.');
  const p = new Parser(text);
  p.ws();
  const value = p.value(0);
  p.ws();
  if (p.i < text.length) p.fail('The document root must not be followed by other values.');
  return value;
}

const MAX_DEPTH = 512;

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(what: string, at = this.i): never {
    throw new ServingError('INVALID_ARGUMENT', `JSON Parse error: ${what} at offset: ${at}`);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail('Nesting is too deep.');
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case 'N':
        return this.literal('NaN', Number.NaN);
      case 'I':
        return s.startsWith('Infinity', this.i) ? this.literal('Infinity', Infinity) : this.literal('Inf', Infinity);
      case undefined:
        return this.fail('Invalid value.');
      default:
        if (c === '-' || (c! >= '0' && c! <= '9')) return this.number();
        return this.fail('Invalid value.');
    }
  }

  literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail('Invalid value.');
    this.i += word.length;
    return v;
  }

  number(): number {
    const s = this.s;
    const start = this.i;
    if (s[this.i] === '-') {
      this.i++;
      if (s.startsWith('Infinity', this.i)) {
        this.i += 8;
        return -Infinity;
      }
      if (s.startsWith('Inf', this.i)) {
        this.i += 3;
        return -Infinity;
      }
    }
    const m = /^(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(this.i, this.i + 400));
    if (!m) this.fail('Invalid value.', start);
    if (s[this.i + m[0].length] === '.') this.fail('Missing fraction part in number.', this.i + m[0].length + 1);
    this.i += m[0].length;
    const v = Number(s.slice(start, this.i));
    // rapidjson (TF Serving's parser) refuses a literal that overflows a double (1e400) even with
    // kParseNanAndInfFlag; only the bare NaN/Infinity tokens are non-finite.
    if (!Number.isFinite(v)) this.fail('Number too big to be stored in double.', start);
    return v;
  }

  string(): string {
    const s = this.s;
    const start = this.i;
    this.i++;
    let out = '';
    let run = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail('Missing a closing quotation mark in string.', start);
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(run, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail('Invalid encoding in string.');
      if (c === 0x5c) {
        out += s.slice(run, this.i);
        const e = s[this.i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e];
          this.i += 2;
        } else if (e === 'u') {
          const hex = s.slice(this.i + 2, this.i + 6);
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

  array(depth: number): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
      } else if (c === ']') {
        this.i++;
        return out;
      } else {
        this.fail('Missing a comma or \']\' after an array element.');
      }
    }
  }

  object(depth: number): { [key: string]: JsonValue } {
    this.i++;
    const out: { [key: string]: JsonValue } = {};
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('Missing a name for object member.');
      const key = this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail('Missing a colon after a name of object member.');
      this.i++;
      this.ws();
      const v = this.value(depth + 1);
      // A "__proto__" member is data, never the prototype.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.s[this.i];
      if (c === ',') {
        this.i++;
        this.ws();
      } else if (c === '}') {
        this.i++;
        return out;
      } else {
        this.fail("Missing a comma or '}' after an object member.");
      }
    }
  }
}

/** `m` without trailing fraction zeros (and without a bare trailing '.'). */
function stripZeros(m: string): string {
  if (m.indexOf('.') < 0) return m;
  let end = m.length;
  while (m.charCodeAt(end - 1) === 0x30) end--;
  if (m.charCodeAt(end - 1) === 0x2e) end--;
  return m.slice(0, end);
}

/** printf's `%.{p}g` (no regular expressions: it runs once or twice per value of every answer). */
function formatG(v: number, p: number): string {
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const e = v.toExponential(p - 1);
  const at = e.indexOf('e');
  const exp = +e.slice(at + 1);
  if (exp < -4 || exp >= p) {
    const a = exp < 0 ? -exp : exp;
    return `${stripZeros(e.slice(0, at))}e${exp < 0 ? '-' : '+'}${a < 10 ? '0' : ''}${a}`;
  }
  return stripZeros(v.toFixed(Math.max(0, p - 1 - exp)));
}

/**
 * A float as TF Serving writes it: `%g` (6 digits) when that round-trips, else max_digits10 digits
 * (9 for float32, 17 for float64); whole numbers get `.0`; NaN and ±Infinity are bare tokens.
 */
export function formatDecimal(v: number, float32 = true): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v < 0 ? '-Infinity' : 'Infinity';
  const round = float32 ? Math.fround : (x: number) => x;
  let s = formatG(v, 6);
  if (round(Number(s)) !== v) s = formatG(v, float32 ? 9 : 17);
  if (!s.includes('.') && !s.includes('e')) s += '.0';
  return s;
}

/** A JSON fragment already written (e.g. a float in TF Serving's format). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type WritableJson = JsonValue | RawJson | WritableJson[] | { [key: string]: WritableJson } | Float32Array | Int32Array;

/**
 * Writes JSON like TF Serving's PrettyWriter: objects one member a line (4-space indent), arrays on one
 * line; RawJson fragments go in as they are, float32 arrays in TF Serving's float format.
 */
export function stringifyJson(v: WritableJson): string {
  const out: string[] = [];
  write(v, 0);
  return out.join('');

  function write(x: WritableJson, depth: number): void {
    if (x instanceof RawJson) out.push(x.text);
    else if (x === null || typeof x === 'boolean' || typeof x === 'string') out.push(JSON.stringify(x));
    else if (typeof x === 'number') out.push(Number.isInteger(x) ? String(x) : formatDecimal(x, false));
    else if (x instanceof Float32Array) out.push(`[${Array.from(x, (f) => formatDecimal(f)).join(', ')}]`);
    else if (x instanceof Int32Array) out.push(`[${Array.from(x).join(', ')}]`);
    else if (Array.isArray(x)) {
      out.push('[');
      x.forEach((e, i) => {
        if (i) out.push(', ');
        write(e, depth + 1);
      });
      out.push(']');
    } else {
      const entries = Object.entries(x);
      if (entries.length === 0) {
        out.push('{}');
        return;
      }
      const pad = '    '.repeat(depth + 1);
      out.push('{');
      entries.forEach(([k, e], i) => {
        out.push(i ? ',\n' : '\n', pad, JSON.stringify(k), ': ');
        write(e, depth + 1);
      });
      out.push('\n', '    '.repeat(depth), '}');
    }
  }
}
