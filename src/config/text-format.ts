// The protobuf text format (what TF Serving reads with TextFormat::ParseFromString): a tokenizer and a
// recursive-descent parser driven by the protobufjs reflection type of the message being read.
// Output: a plain object keyed by the .proto field names; repeated fields are arrays, maps are objects,
// enums are their value names, 64-bit integers are numbers (strings beyond 2^53), bytes are Uint8Arrays.
import protobuf from 'protobufjs';
import { ServingError } from '../core/status.js';

/** Where something is in a text file (1-based). */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
}

export type TextValue = number | string | boolean | Uint8Array | TextMessage | TextValue[] | { [key: string]: TextValue };
export interface TextMessage {
  [field: string]: TextValue;
}

/** A parse or conversion error naming the file, the line and the field. */
export class TextFormatError extends ServingError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, at: TextPosition, message: string) {
    super('INVALID_ARGUMENT', `${file}:${at.line}:${at.column}: ${message}`);
    this.file = file;
    this.line = at.line;
    this.column = at.column;
  }
}

type TokenKind = 'identifier' | 'number' | 'string' | 'symbol' | 'end';

interface Token {
  readonly kind: TokenKind;
  /** The source text (strings: the decoded bytes in `bytes`). */
  readonly text: string;
  readonly bytes?: Uint8Array;
  readonly line: number;
  readonly column: number;
}

const SYMBOLS = new Set(['{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '/', '.']);

/** Splits text-format source into tokens; `#` comments and whitespace are dropped. */
export function tokenizeTextFormat(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): TextPosition => ({ line, column: i - lineStart + 1 });
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < source.length && source[i] !== '\n') i++;
      continue;
    }
    const start = at();
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i, i + 256))!;
      tokens.push({ kind: 'identifier', text: m[0], ...start });
      i += m[0].length;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(source[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9A-Fa-f]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?)/.exec(source.slice(i, i + 512))!;
      const after = source[i + m[0].length] ?? '';
      if (/[A-Za-z0-9_]/.test(after)) throw new TextFormatError(file, start, `malformed number starting ${JSON.stringify(source.slice(i, i + m[0].length + 1))}`);
      tokens.push({ kind: 'number', text: m[0], ...start });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      const { bytes, end } = readString(source, i, file, start);
      tokens.push({ kind: 'string', text: source.slice(i, end), bytes, ...start });
      i = end;
      continue;
    }
    if (SYMBOLS.has(c)) {
      tokens.push({ kind: 'symbol', text: c, ...start });
      i++;
      continue;
    }
    throw new TextFormatError(file, start, `unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'end', text: '', line, column: i - lineStart + 1 });
  return tokens;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };

/** A C-escaped quoted string (as TextFormat writes them) → its bytes; non-ASCII source characters as UTF-8. */
function readString(source: string, start: number, file: string, at: TextPosition): { bytes: Uint8Array; end: number } {
  const quote = source[start]!;
  const out: number[] = [];
  const encoder = new TextEncoder();
  let i = start + 1;
  for (;;) {
    const c = source[i];
    if (c === undefined || c === '\n') throw new TextFormatError(file, at, 'string literal is not terminated on its line');
    if (c === quote) return { bytes: Uint8Array.from(out), end: i + 1 };
    if (c !== '\\') {
      const cp = source.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(...encoder.encode(ch));
      i += ch.length;
      continue;
    }
    const e = source[i + 1] ?? '';
    if (e in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(source.slice(i + 1, i + 4))!;
      out.push(parseInt(m[0], 8) & 0xff);
      i += 1 + m[0].length;
    } else if (e === 'x' || e === 'X') {
      const m = /^[0-9A-Fa-f]{1,2}/.exec(source.slice(i + 2, i + 4));
      if (!m) throw new TextFormatError(file, at, 'string literal has \\x without hex digits');
      out.push(parseInt(m[0], 16));
      i += 2 + m[0].length;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const hex = source.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9A-Fa-f]{${n}}$`).test(hex)) throw new TextFormatError(file, at, `string literal has \\${e} without ${n} hex digits`);
      out.push(...encoder.encode(String.fromCodePoint(parseInt(hex, 16))));
      i += 2 + n;
    } else {
      throw new TextFormatError(file, at, `string literal has an unknown escape \\${e}`);
    }
  }
}

const positions = new WeakMap<object, Map<string, TextPosition>>();

/** Where field `name` of a parsed message was written (its name token), if it came from text. */
export function fieldPosition(message: object, name: string): TextPosition | undefined {
  return positions.get(message)?.get(name);
}

/**
 * Parses text-format `source` as message `type`. Throws TextFormatError (INVALID_ARGUMENT) naming
 * `file`, the line and column, and the field, for syntax errors, unknown fields and enum values,
 * out-of-range numbers, repeated non-repeated fields and two members of one oneof.
 */
export function parseTextFormat(source: string, type: protobuf.Type, file: string): TextMessage {
  const parser = new Parser(tokenizeTextFormat(source, file), file);
  const message = parser.message(type, 'end');
  return message;
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

class Parser {
  private pos = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly file: string,
  ) {}

  private get peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private fail(at: TextPosition, message: string): never {
    throw new TextFormatError(this.file, at, message);
  }

  private isSymbol(text: string): boolean {
    return this.peek.kind === 'symbol' && this.peek.text === text;
  }

  private expectSymbol(text: string, what: string): Token {
    const t = this.next();
    if (t.kind !== 'symbol' || t.text !== text) this.fail(t, `expected "${text}" ${what}, found ${describe(t)}`);
    return t;
  }

  /** Fields until `close` (a symbol, or the end of input for the top level). */
  message(type: protobuf.Type, close: '}' | '>' | 'end'): TextMessage {
    const out: TextMessage = {};
    const where = new Map<string, TextPosition>();
    positions.set(out, where);
    const oneofSet = new Map<string, string>();
    for (;;) {
      const t = this.peek;
      if (close === 'end' ? t.kind === 'end' : t.kind === 'symbol' && t.text === close) {
        this.next();
        return out;
      }
      if (t.kind === 'end') this.fail(t, `expected "${close}" to close ${type.fullName.replace(/^\./, '')}, found the end of the file`);
      this.field(type, out, where, oneofSet);
      // Fields may be separated by "," or ";".
      if (this.isSymbol(',') || this.isSymbol(';')) this.next();
    }
  }

  private field(type: protobuf.Type, out: TextMessage, where: Map<string, TextPosition>, oneofSet: Map<string, string>): void {
    const nameToken = this.next();
    const typeName = type.fullName.replace(/^\./, '');
    if (nameToken.kind === 'symbol' && nameToken.text === '[') this.fail(nameToken, `extensions and Any expansions ([…]) are not supported in ${typeName}`);
    if (nameToken.kind !== 'identifier') this.fail(nameToken, `expected a field name of ${typeName}, found ${describe(nameToken)}`);
    const name = nameToken.text;
    const field = type.fields[name];
    if (!field) {
      this.fail(nameToken, `unknown field "${name}" in ${typeName} (fields: ${Object.keys(type.fields).join(', ') || 'none'})`);
    }
    field.resolve();
    const repeated = field.repeated || field.map;
    if (!repeated && name in out) this.fail(nameToken, `non-repeated field "${name}" of ${typeName} is specified more than once`);
    if (field.partOf) {
      const other = oneofSet.get(field.partOf.name);
      if (other !== undefined && other !== name) this.fail(nameToken, `field "${name}" of ${typeName} is in oneof "${field.partOf.name}" with "${other}", which is already set`);
      oneofSet.set(field.partOf.name, name);
    }
    if (!where.has(name)) where.set(name, { line: nameToken.line, column: nameToken.column });
    const isMessage = field.map || field.resolvedType instanceof protobuf.Type;
    if (this.isSymbol(':')) this.next();
    else if (!isMessage) this.fail(this.peek, `expected ":" after field "${name}" of ${typeName}, found ${describe(this.peek)}`);
    const readOne = (): TextValue => (isMessage ? this.messageValue(field, typeName) : this.scalar(field, typeName));
    if (repeated && this.isSymbol('[')) {
      this.next();
      const values: TextValue[] = [];
      if (!this.isSymbol(']')) {
        for (;;) {
          values.push(readOne());
          if (this.isSymbol(',')) {
            this.next();
            continue;
          }
          break;
        }
      }
      this.expectSymbol(']', `to close the list of "${name}"`);
      for (const v of values) this.store(field, out, v);
      return;
    }
    if (!repeated && this.isSymbol('[')) this.fail(this.peek, `field "${name}" of ${typeName} is not repeated: a list [ … ] is not allowed`);
    this.store(field, out, readOne());
  }

  private store(field: protobuf.Field, out: TextMessage, value: TextValue): void {
    if (field.map) {
      const entry = value as TextMessage;
      const map = (out[field.name] ??= {}) as { [key: string]: TextValue };
      const key = entry.key ?? defaultScalar((field as unknown as protobuf.MapField).keyType);
      map[String(key)] = entry.value ?? (field.resolvedType instanceof protobuf.Type ? {} : defaultScalar(field.type, field.resolvedType));
      return;
    }
    if (field.repeated) ((out[field.name] ??= []) as TextValue[]).push(value);
    else out[field.name] = value;
  }

  private messageValue(field: protobuf.Field, typeName: string): TextMessage {
    const open = this.next();
    if (open.kind !== 'symbol' || (open.text !== '{' && open.text !== '<')) {
      this.fail(open, `expected "{" to open field "${field.name}" of ${typeName}, found ${describe(open)}`);
    }
    const close = open.text === '{' ? '}' : '>';
    if (field.map) return this.message(mapEntryType(field), close);
    return this.message(field.resolvedType as protobuf.Type, close);
  }

  private scalar(field: protobuf.Field, typeName: string): TextValue {
    const what = `field "${field.name}" of ${typeName}`;
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Enum) {
      const t = this.next();
      if (t.kind === 'identifier') {
        if (!(t.text in resolved.values)) this.fail(t, `unknown value ${t.text} for enum ${what} (${resolved.name}: ${Object.keys(resolved.values).join(', ')})`);
        return t.text;
      }
      const n = this.signedInteger(t, what, 'int32');
      const name = resolved.valuesById[Number(n)];
      if (name === undefined) this.fail(t, `unknown number ${n} for enum ${what} (${resolved.name})`);
      return name;
    }
    switch (field.type) {
      case 'string':
      case 'bytes': {
        const t = this.next();
        if (t.kind !== 'string') this.fail(t, `expected a quoted string for ${what}, found ${describe(t)}`);
        const parts = [t.bytes!];
        while (this.peek.kind === 'string') parts.push(this.next().bytes!);
        const bytes = concat(parts);
        if (field.type === 'bytes') return bytes;
        return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      }
      case 'bool': {
        const t = this.next();
        if (t.kind === 'identifier' && ['true', 'True', 't'].includes(t.text)) return true;
        if (t.kind === 'identifier' && ['false', 'False', 'f'].includes(t.text)) return false;
        if (t.kind === 'number' && (t.text === '1' || t.text === '0')) return t.text === '1';
        return this.fail(t, `expected true or false for ${what}, found ${describe(t)}`);
      }
      case 'double':
      case 'float':
        return this.float(what);
      default:
        if (field.type in INT_RANGES) {
          const t = this.next();
          const n = this.signedInteger(t, what, field.type);
          return Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
        }
        return this.fail(this.peek, `${what} has type ${field.type}, which the text format reader does not know`);
    }
  }

  /** An integer literal, with an optional leading "-" (already consumed into `first` when it is "-"). */
  private signedInteger(first: Token, what: string, type: string): bigint {
    let negative = false;
    let t = first;
    if (t.kind === 'symbol' && t.text === '-') {
      negative = true;
      t = this.next();
    }
    if (t.kind !== 'number' || !/^(0[xX][0-9A-Fa-f]+|[0-9]+)$/.test(t.text)) this.fail(t, `expected an integer for ${what}, found ${describe(t)}`);
    let n: bigint;
    if (/^0[xX]/.test(t.text)) n = BigInt(t.text);
    else if (/^0[0-7]+$/.test(t.text)) n = BigInt('0o' + t.text.slice(1));
    else if (/^0[0-9]+$/.test(t.text)) this.fail(t, `invalid octal integer ${t.text} for ${what}`);
    else n = BigInt(t.text);
    if (negative) n = -n;
    const [min, max] = INT_RANGES[type]!;
    if (n < min || n > max) this.fail(first, `integer ${n} is out of range for ${what} (${type}: ${min}…${max})`);
    return n;
  }

  private float(what: string): number {
    let t = this.next();
    let sign = 1;
    if (t.kind === 'symbol' && t.text === '-') {
      sign = -1;
      t = this.next();
    }
    if (t.kind === 'identifier') {
      const w = t.text.toLowerCase();
      if (w === 'inf' || w === 'infinity' || w === 'inff' || w === 'infinityf') return sign * Infinity;
      if (w === 'nan' || w === 'nanf') return NaN;
    }
    if (t.kind !== 'number') this.fail(t, `expected a number for ${what}, found ${describe(t)}`);
    const text = t.text.replace(/[fF]$/, '');
    const n = /^0[xX]/.test(text) ? Number(BigInt(text)) : Number(text);
    if (Number.isNaN(n)) this.fail(t, `malformed number ${t.text} for ${what}`);
    return sign * n;
  }
}

const mapEntryTypes = new WeakMap<protobuf.Field, protobuf.Type>();

/** The implicit `{key, value}` entry message of a map field (not added to any Root). */
function mapEntryType(field: protobuf.Field): protobuf.Type {
  let t = mapEntryTypes.get(field);
  if (t) return t;
  const map = field as unknown as protobuf.MapField;
  t = new protobuf.Type(`${field.name}Entry`);
  const key = new protobuf.Field('key', 1, map.keyType);
  const value = new protobuf.Field('value', 2, map.type);
  t.add(key);
  t.add(value);
  // Resolved by hand: the value type is the map field's, already resolved in its own scope.
  key.resolved = true;
  value.resolvedType = map.resolvedType;
  value.resolved = true;
  mapEntryTypes.set(field, t);
  return t;
}

function defaultScalar(type: string, resolved?: protobuf.Type | protobuf.Enum | null): TextValue {
  if (resolved instanceof protobuf.Enum) return Object.keys(resolved.values)[0] ?? '';
  if (type === 'string') return '';
  if (type === 'bool') return false;
  if (type === 'bytes') return new Uint8Array();
  return 0;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'the end of the file';
  return `${t.kind === 'identifier' ? '' : t.kind + ' '}${JSON.stringify(t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text)}`;
}
