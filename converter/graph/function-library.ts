/**
 * The SavedModel's function library, flattened on demand.
 *
 * Only functions that the converted signatures reach are ever flattened: a Keras LSTM/GRU export
 * (TF ≥ 2.4) also carries gradient functions (`__inference___backward_gpu_lstm_with_fallback_…`)
 * whose ops (`CudnnRNNBackprop`, several output args) have no OpDef in the stripped op list; the
 * serving path never calls them, so they must not be touched.
 *
 * Functions with an `api_implements` attr have alternatives (Keras registers a CudnnRNN body,
 * `api_preferred_device: GPU`, next to the standard CPU body; Grappler's implementation selector
 * swaps them by device). `implementationFor` picks, for a call, the alternative whose body (and
 * whatever it calls, control-flow bodies included) uses only ops TF.js runs, preferring the callee
 * itself, then a CPU one — as the official converter ends up with the standard body.
 */
import { ConverterError } from '../errors.js';
import type { FunctionDef } from '../proto/messages.js';
import type { FlatFunction } from './graph.js';
import { flattenFunction, type OpRegistry } from './op-defs.js';
import { loadSupportedOps } from './op-support.js';

const CALL_OPS = new Set(['StatefulPartitionedCall', 'PartitionedCall']);
/** Ops the converter removes or rewrites (variable reads are frozen, debug ops stripped). */
const CONVERTER_HANDLED = new Set(['ReadVariableOp', 'ResourceGather', 'VarHandleOp', 'NoOp', 'Assert', 'CheckNumerics', 'CheckNumericsV2', 'Print', 'PrintV2']);
const td = new TextDecoder();

function attrString(f: FunctionDef, key: string): string | undefined {
  const s = f.attr[key]?.s;
  return s === undefined ? undefined : td.decode(s);
}

/** A lazily flattened function library: `get` flattens a function the first time it is asked for. */
export class FunctionLibrary extends Map<string, FlatFunction> {
  private readonly defs = new Map<string, FunctionDef>();
  /** api_implements name → functions implementing it. */
  private readonly implementations = new Map<string, string[]>();
  /** function → the first unsupported op its body reaches (or null), memoized. */
  private readonly unsupported = new Map<string, { op: string; fn: string } | null>();
  private readonly swaps = new Map<string, string>();

  constructor(
    defs: readonly FunctionDef[],
    private readonly ops: OpRegistry,
  ) {
    super();
    for (const f of defs) {
      this.defs.set(f.signature.name, f);
      const api = attrString(f, 'api_implements');
      if (api) this.implementations.set(api, [...(this.implementations.get(api) ?? []), f.signature.name]);
    }
  }

  /** Number of functions in the library (flattened or not). */
  get librarySize(): number {
    return this.defs.size;
  }

  override has(name: string): boolean {
    return this.defs.has(name);
  }

  override get(name: string): FlatFunction | undefined {
    let f = super.get(name);
    if (f) return f;
    const def = this.defs.get(name);
    if (!def) return undefined;
    f = flattenFunction(def, this.ops);
    super.set(name, f);
    return f;
  }

  /** Calls that were redirected to another `api_implements` alternative: callee → chosen. */
  get redirected(): ReadonlyMap<string, string> {
    return this.swaps;
  }

  /**
   * The function a call to `name` should inline: `name` itself unless it has `api_implements`
   * alternatives and uses ops TF.js cannot run while an alternative does not.
   */
  implementationFor(name: string): string {
    const def = this.defs.get(name);
    if (!def) return name;
    const api = attrString(def, 'api_implements');
    if (!api) return name;
    const own = this.firstUnsupported(name, new Set());
    if (!own) return name;
    const alternatives = (this.implementations.get(api) ?? [])
      .filter((n) => n !== name)
      .sort((a, b) => Number(this.device(b) === 'CPU') - Number(this.device(a) === 'CPU'));
    for (const alt of alternatives) {
      if (!this.firstUnsupported(alt, new Set()) && this.sameSignature(def, this.defs.get(alt)!)) {
        this.swaps.set(name, alt);
        return alt;
      }
    }
    throw new ConverterError(
      'UNIMPLEMENTED',
      `function "${name}" (api_implements "${api}") uses op ${own.op} (in function "${own.fn}"), which TF.js does not support, ` +
        `and none of its ${alternatives.length} alternative implementation(s) ${alternatives.length ? `(${alternatives.join(', ')}) ` : ''}can run in TF.js`,
    );
  }

  private device(name: string): string | undefined {
    const d = attrString(this.defs.get(name)!, 'api_preferred_device');
    return d?.toUpperCase();
  }

  private sameSignature(a: FunctionDef, b: FunctionDef): boolean {
    return a.signature.inputArg.length === b.signature.inputArg.length && a.signature.outputArg.length === b.signature.outputArg.length;
  }

  /** The first op (reached through calls and control-flow bodies) that TF.js does not support. */
  private firstUnsupported(name: string, visiting: Set<string>): { op: string; fn: string } | null {
    const memo = this.unsupported.get(name);
    if (memo !== undefined) return memo;
    if (visiting.has(name)) return null;
    visiting.add(name);
    const supported = loadSupportedOps().ops;
    const def = this.defs.get(name)!;
    let found: { op: string; fn: string } | null = null;
    for (const n of def.nodeDef) {
      if (this.defs.has(n.op)) found = this.firstUnsupported(n.op, visiting);
      else if (!CALL_OPS.has(n.op) && !CONVERTER_HANDLED.has(n.op) && !supported.has(n.op)) found = { op: n.op, fn: name };
      if (found) break;
      for (const a of Object.values(n.attr)) {
        for (const callee of [a.func?.name, ...(a.list?.func ?? []).map((x) => x.name)]) {
          if (callee && this.defs.has(callee)) found = this.firstUnsupported(callee, visiting);
          if (found) break;
        }
        if (found) break;
      }
      if (found) break;
    }
    visiting.delete(name);
    this.unsupported.set(name, found);
    return found;
  }
}
