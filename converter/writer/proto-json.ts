/**
 * Protobuf → JSON in the proto3 JSON mapping that `model.json` uses
 * (`MessageToDict`): lowerCamelCase fields, int64 as decimal strings, enums
 * by name, bytes as base64, defaults omitted except inside AttrValue's oneof.
 * Dim sizes of 0 are written as "0" (MessageToDict would omit them, which
 * TF.js reads as NaN).
 */
import type { ArgDef, AttrValue, NameAttrList, NodeDef, TensorProto, TensorShapeProto } from '../proto/messages.js';
import type { FlatFunction } from '../graph/graph.js';
import { dtypeName } from '../tensor.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const int64 = (v: number | bigint): string => String(v);
const float = (f: number): Json => (Number.isFinite(f) ? f : Number.isNaN(f) ? 'NaN' : f > 0 ? 'Infinity' : '-Infinity');

export function shapeJson(s: TensorShapeProto): Json {
  if (s.unknownRank) return { unknownRank: true };
  if (s.dim.length === 0) return {};
  return {
    dim: s.dim.map((d): Json => (d.name ? { size: int64(d.size ?? 0), name: d.name } : { size: int64(d.size ?? 0) })),
  };
}

/** A Const value with its content stripped (the value goes to the weights). */
export function tensorJson(t: TensorProto): Json {
  const o: Record<string, Json> = { dtype: dtypeName(t.dtype ?? 0) };
  o.tensorShape = t.tensorShape ? shapeJson(t.tensorShape) : {};
  return o;
}

function funcJson(f: NameAttrList): Json {
  const o: Record<string, Json> = { name: f.name ?? '' };
  if (Object.keys(f.attr).length) o.attr = attrMapJson(f.attr);
  return o;
}

export function attrJson(a: AttrValue): Json {
  if (a.list) {
    const l = a.list;
    const o: Record<string, Json> = {};
    if (l.s.length) o.s = l.s.map(b64);
    if (l.i.length) o.i = l.i.map(int64);
    if (l.f.length) o.f = l.f.map(float);
    if (l.b.length) o.b = l.b;
    if (l.type.length) o.type = l.type.map(dtypeName);
    if (l.shape.length) o.shape = l.shape.map(shapeJson);
    if (l.tensor.length) o.tensor = l.tensor.map(tensorJson);
    if (l.func.length) o.func = l.func.map(funcJson);
    return { list: o };
  }
  if (a.s !== undefined) return { s: b64(a.s) };
  if (a.i !== undefined) return { i: int64(a.i) };
  if (a.f !== undefined) return { f: float(a.f) };
  if (a.b !== undefined) return { b: a.b };
  if (a.type !== undefined) return { type: dtypeName(a.type) };
  if (a.shape !== undefined) return { shape: shapeJson(a.shape) };
  if (a.tensor !== undefined) return { tensor: tensorJson(a.tensor) };
  if (a.placeholder !== undefined) return { placeholder: a.placeholder };
  if (a.func !== undefined) return { func: funcJson(a.func) };
  return { list: {} };
}

export function attrMapJson(m: Record<string, AttrValue>): Record<string, Json> {
  const o: Record<string, Json> = {};
  for (const k of Object.keys(m)) o[k] = attrJson(m[k]!);
  return o;
}

/**
 * Attrs TF.js reads: not TensorFlow's internal `_`-prefixed ones (`_output_shapes`, `_class`,
 * `_user_specified_name`, `_read_only_resource_inputs`, `_lower_using_switch_merge`…), which no
 * TF.js op mapper or executor looks at.
 */
function readAttrs(m: Record<string, AttrValue>): Record<string, AttrValue> {
  const o: Record<string, AttrValue> = {};
  for (const k of Object.keys(m)) if (!k.startsWith('_')) o[k] = m[k]!;
  return o;
}

export function nodeJson(n: NodeDef): Json {
  const o: Record<string, Json> = { name: n.name, op: n.op };
  if (n.input.length) o.input = n.input.slice();
  if (n.device) o.device = n.device;
  const attr = readAttrs(n.attr);
  if (Object.keys(attr).length) o.attr = attrMapJson(attr);
  return o;
}

function argJson(a: ArgDef): Json {
  const o: Record<string, Json> = { name: a.name };
  if (a.type) o.type = dtypeName(a.type);
  if (a.typeAttr) o.typeAttr = a.typeAttr;
  if (a.numberAttr) o.numberAttr = a.numberAttr;
  if (a.typeListAttr) o.typeListAttr = a.typeListAttr;
  return o;
}

export function functionJson(f: FlatFunction): Json {
  const o: Record<string, Json> = {
    signature: { name: f.name, inputArg: f.inputArgs.map(argJson), outputArg: f.outputArgs.map(argJson) },
  };
  const fattr = readAttrs(f.attr);
  if (Object.keys(fattr).length) o.attr = attrMapJson(fattr);
  if (f.nodes.length) o.nodeDef = f.nodes.map(nodeJson);
  o.ret = { ...f.ret };
  const argAttr: Record<string, Json> = {};
  for (const [k, v] of Object.entries(f.argAttr)) {
    const a = readAttrs(v.attr);
    if (Object.keys(a).length) argAttr[k] = { attr: attrMapJson(a) };
  }
  if (Object.keys(argAttr).length) o.argAttr = argAttr;
  return o;
}
