/**
 * Schema-driven decoding: a message schema maps field numbers to a name and
 * a type; `decodeMessage` turns bytes into a plain object. Repeated fields
 * become arrays (packed or not), map fields become plain objects (string
 * keys), unknown fields are skipped.
 */
import { ProtoReader, WIRE_LEN } from './reader.js';

export type ScalarType =
  | 'string'
  | 'bytes'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'float'
  | 'double'
  | 'fixed32'
  | 'enum';

export interface MessageSchema {
  readonly name: string;
  readonly fields: Readonly<Record<number, FieldSpec>>;
}

export type ValueType = ScalarType | (() => MessageSchema);

export interface FieldSpec {
  readonly name: string;
  readonly type: ValueType;
  readonly repeated?: boolean;
  /** Map field: entries are messages {1: key, 2: value}. `type` is the value type. */
  readonly mapKey?: ScalarType;
}

function readScalar(r: ProtoReader, type: ScalarType): unknown {
  switch (type) {
    case 'string':
      return r.string();
    case 'bytes':
      return r.bytes();
    case 'int32':
    case 'enum':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'uint32':
      return r.uint32();
    case 'uint64':
      return r.uint64();
    case 'bool':
      return r.bool();
    case 'float':
      return r.float();
    case 'double':
      return r.double();
    case 'fixed32':
      return r.fixed32();
  }
}

function isPackable(type: ScalarType): boolean {
  return type !== 'string' && type !== 'bytes';
}

function readValue(r: ProtoReader, type: ValueType): unknown {
  if (typeof type === 'function') return decodeMessageFrom(r.sub(), type());
  return readScalar(r, type);
}

function readMapEntry(r: ProtoReader, keyType: ScalarType, valueType: ValueType): [string, unknown] {
  const sub = r.sub();
  let key: unknown = keyType === 'string' ? '' : 0;
  let value: unknown = typeof valueType === 'function' ? decodeMessageFrom(new ProtoReader(new Uint8Array(0)), valueType()) : undefined;
  while (!sub.eof()) {
    const [num, wt] = sub.tag();
    if (num === 1) key = readScalar(sub, keyType);
    else if (num === 2) value = readValue(sub, valueType);
    else sub.skip(wt);
  }
  return [String(key), value];
}

export function decodeMessageFrom(r: ProtoReader, schema: MessageSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = schema.fields;
  for (const k in fields) {
    const f = fields[k]!;
    if (f.mapKey) out[f.name] = {};
    else if (f.repeated) out[f.name] = [];
  }
  while (!r.eof()) {
    const [num, wt] = r.tag();
    const f = fields[num];
    if (!f) {
      r.skip(wt);
      continue;
    }
    if (f.mapKey) {
      const [k, v] = readMapEntry(r, f.mapKey, f.type);
      (out[f.name] as Record<string, unknown>)[k] = v;
    } else if (f.repeated) {
      const arr = out[f.name] as unknown[];
      if (typeof f.type !== 'function' && isPackable(f.type) && wt === WIRE_LEN) {
        const sub = r.sub();
        while (!sub.eof()) arr.push(readScalar(sub, f.type));
      } else {
        arr.push(readValue(r, f.type));
      }
    } else {
      out[f.name] = readValue(r, f.type);
    }
  }
  return out;
}

export function decodeMessage<T>(bytes: Uint8Array, schema: MessageSchema): T {
  return decodeMessageFrom(new ProtoReader(bytes), schema) as T;
}
