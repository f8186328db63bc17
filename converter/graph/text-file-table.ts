/**
 * Tables filled from asset files (`InitializeTableFromTextFileV2`, the vocabularies of tf.Transform /
 * Estimator exports): the file is read at conversion time and the fill becomes a `LookupTableImportV2`
 * of two Consts, as tensor-filled tables are, which TF.js runs in the model initializer.
 *
 * Line semantics follow TensorFlow's `lookup::InitializeTableFromTextFile` (core/kernels/lookup_util.cc):
 * - lines end with "\n" (a trailing "\r" is dropped); an empty line is an error;
 * - a line splits on the one-character `delimiter` (default "\t") unless both indices are negative;
 * - index -2 is the line number plus `offset` (int64), -1 the whole line, k ≥ 0 the k-th column,
 *   converted to the table's key / value dtype (int32/int64/float/double/string);
 * - `vocab_size` -1 reads every line; otherwise exactly that many lines (fewer is an error);
 * - the same key with a different value is an error (HashTable::DoInsert).
 */
import { ConverterError } from '../errors.js';
import type { NodeDef, TensorProto } from '../proto/messages.js';
import { DT, dtypeName } from '../tensor.js';

const LINE_NUMBER = -2;
const WHOLE_LINE = -1;
const td = new TextDecoder();
const te = new TextEncoder();

export interface TextFileTableSpec {
  keyIndex: number;
  valueIndex: number;
  vocabSize: number;
  delimiter: string;
  offset: number;
  keyDtype: number;
  valueDtype: number;
}

type Scalar = string | number;

const isInteger = (dt: number) => dt === DT.INT32 || dt === DT.INT64;

/** The fill's attrs and the table's dtypes, validated as TF's kernel does. */
export function textFileSpec(fill: NodeDef, table: NodeDef, what: string): TextFileTableSpec {
  const int = (k: string, d?: number): number => {
    const v = fill.attr[k]?.i;
    if (v === undefined) {
      if (d === undefined) throw new ConverterError('INVALID_ARGUMENT', `${what}: ${fill.op} "${fill.name}" lacks attr ${k}`);
      return d;
    }
    return Number(v);
  };
  const delim = fill.attr.delimiter?.s;
  const spec: TextFileTableSpec = {
    keyIndex: int('key_index'),
    valueIndex: int('value_index'),
    vocabSize: int('vocab_size', -1),
    delimiter: delim === undefined ? '\t' : td.decode(delim),
    offset: int('offset', 0),
    keyDtype: (table.attr.key_dtype?.type ?? DT.STRING) % 100,
    valueDtype: (table.attr.value_dtype?.type ?? DT.INT64) % 100,
  };
  const bad = (m: string) => new ConverterError('INVALID_ARGUMENT', `${what}: ${fill.op} "${fill.name}": ${m}`);
  if ([...spec.delimiter].length !== 1) throw bad(`delimiter should be only 1 char, got "${spec.delimiter}"`);
  for (const [role, index, dt] of [['Key', spec.keyIndex, spec.keyDtype], ['Value', spec.valueIndex, spec.valueDtype]] as const) {
    if (index < LINE_NUMBER) throw bad(`${role.toLowerCase()}_index ${index} is not -2 (line number), -1 (whole line) or a column`);
    if (index === LINE_NUMBER && dt !== DT.INT64) throw bad(`${role} index for line number requires table ${role.toLowerCase()} dtype of int64, got ${dtypeName(dt)}`);
    if (index === WHOLE_LINE && !isInteger(dt) && dt !== DT.STRING) throw bad(`${role} index for whole line requires string or integer table ${role.toLowerCase()}, got ${dtypeName(dt)}`);
  }
  return spec;
}

function convertToken(token: string, dt: number, line: number, file: string): Scalar {
  const invalid = (kind: string) => new ConverterError('INVALID_ARGUMENT', `Field ${token} in line ${line} of ${file} is not a valid ${kind}.`);
  const t = token.trim();
  switch (dt) {
    case DT.STRING:
      return token;
    case DT.INT32:
    case DT.INT64: {
      if (!/^[+-]?\d+$/.test(t)) throw invalid(dtypeName(dt).replace('DT_', '').toLowerCase());
      const v = Number(t);
      if (dt === DT.INT32 && (v < -2147483648 || v > 2147483647)) throw invalid('int32');
      return v;
    }
    case DT.FLOAT:
    case DT.DOUBLE: {
      if (!/^[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf(inity)?|nan)$/i.test(t)) throw invalid(dt === DT.FLOAT ? 'float' : 'double');
      const l = t.toLowerCase().replace(/^\+/, '');
      return l.endsWith('nan') ? NaN : l.includes('inf') ? (l.startsWith('-') ? -Infinity : Infinity) : Number(t);
    }
    default:
      throw new ConverterError('UNIMPLEMENTED', `${file}: table dtype ${dtypeName(dt)} is not supported for text-file initialization`);
  }
}

/** Keys and values of a text-file table. `file` names the asset in errors. */
export function parseTextFileTable(text: string, spec: TextFileTableSpec, file: string): { keys: Scalar[]; values: Scalar[] } {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last line
  const limit = spec.vocabSize === -1 ? lines.length : spec.vocabSize;
  if (spec.vocabSize !== -1 && lines.length < spec.vocabSize) {
    throw new ConverterError('INVALID_ARGUMENT', `Invalid vocab_size in ${file}: expected ${spec.vocabSize} but got ${lines.length}`);
  }
  const split = Math.max(spec.keyIndex, spec.valueIndex) >= 0;
  const keys: Scalar[] = [];
  const values: Scalar[] = [];
  const seen = new Map<Scalar, Scalar>();
  for (let i = 0; i < limit; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line === '') throw new ConverterError('INVALID_ARGUMENT', `Invalid content in ${file}: empty line found at line ${i}.`);
    const tokens = split ? line.split(spec.delimiter) : [];
    const need = Math.max(spec.keyIndex, spec.valueIndex) + 1;
    if (split && tokens.length < need) {
      throw new ConverterError('INVALID_ARGUMENT', `Invalid number of columns in ${file} line ${i} (${line}) : expected ${need} got ${tokens.length}`);
    }
    const value = (index: number, dt: number): Scalar =>
      index === LINE_NUMBER ? i + spec.offset : convertToken(index === WHOLE_LINE ? line : tokens[index]!, dt, i, file);
    const k = value(spec.keyIndex, spec.keyDtype);
    const v = value(spec.valueIndex, spec.valueDtype);
    const prev = seen.get(k);
    if (prev !== undefined) {
      if (prev !== v && !(Number.isNaN(prev) && Number.isNaN(v))) {
        throw new ConverterError('INVALID_ARGUMENT', `${file}: HashTable has different value for same key. Key ${k} has ${prev} and trying to add value ${v}`);
      }
      continue;
    }
    seen.set(k, v);
    keys.push(k);
    values.push(v);
  }
  return { keys, values };
}

/** A Const node holding a 1-D tensor of `values` with dtype `dt`. */
export function vectorConst(name: string, dt: number, values: readonly Scalar[]): NodeDef {
  const t: TensorProto = {
    dtype: dt,
    tensorShape: { dim: [{ size: values.length }] },
    halfVal: [], floatVal: [], doubleVal: [], intVal: [], stringVal: [], scomplexVal: [],
    int64Val: [], boolVal: [], dcomplexVal: [], uint32Val: [], uint64Val: [],
  };
  if (dt === DT.STRING) t.stringVal = values.map((v) => te.encode(String(v)));
  else if (dt === DT.INT64) t.int64Val = values as number[];
  else if (dt === DT.FLOAT) t.floatVal = values as number[];
  else if (dt === DT.DOUBLE) t.doubleVal = values as number[];
  else t.intVal = values as number[];
  return { name, op: 'Const', input: [], attr: { dtype: { type: dt }, value: { tensor: t } } };
}

/** Where a SavedModel's asset files are: `assets/` and the asset_file_def tensor → file name map. */
export interface AssetFiles {
  dir: string;
  /** Tensor name ("node:0") → file name under `assets/`. */
  byTensor: ReadonlyMap<string, string>;
}

/**
 * The asset file a table fill reads: its filename input, followed through Identity (and a variable the
 * path was assigned to, as TF2 stores asset paths), must be a tensor asset_file_def names, or a string
 * Const whose base name is a file in `assets/`.
 */
export function assetPathOf(ref: string, byName: ReadonlyMap<string, NodeDef>, assets: AssetFiles, what: string): string {
  const seen = new Set<string>();
  let cur = ref.replace(/^\^/, '');
  for (;;) {
    const node = cur.includes(':') ? cur.slice(0, cur.lastIndexOf(':')) : cur;
    const tensor = cur.includes(':') ? cur : `${cur}:0`;
    const file = assets.byTensor.get(tensor);
    if (file !== undefined) return `${assets.dir}/assets/${file}`;
    if (seen.has(node)) break;
    seen.add(node);
    const n = byName.get(node);
    if (!n) break;
    if ((n.op === 'Identity' || n.op === 'ReadVariableOp') && n.input[0] && !n.input[0].startsWith('^')) {
      const src = byName.get(n.input[0].replace(/:\d+$/, ''));
      if (n.op === 'ReadVariableOp' && src?.op === 'VarHandleOp') {
        // The path was assigned to a variable (TF2): follow the assigned value.
        const assign = [...byName.values()].find((a) => a.op === 'AssignVariableOp' && a.input[0]?.replace(/:\d+$/, '') === src.name);
        if (!assign?.input[1]) break;
        cur = assign.input[1];
      } else cur = n.input[0];
      continue;
    }
    if (n.op === 'Const' && (n.attr.value?.tensor?.dtype ?? 0) % 100 === DT.STRING) {
      const v = n.attr.value!.tensor!.stringVal[0];
      const base = v ? td.decode(v).split(/[\\/]/).pop()! : '';
      if (base) return `${assets.dir}/assets/${base}`;
    }
    break;
  }
  throw new ConverterError('UNIMPLEMENTED', `${what}: the file name of the table fill (input "${ref}") is neither an asset of the SavedModel nor a constant path`);
}
