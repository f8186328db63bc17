/**
 * Command-line front end: `convert`, `show` and `run`, with flags named as in
 * `tensorflowjs_converter` and `saved_model_cli`. Returns an exit code;
 * errors print as `error: <CODE>: <message>` on stderr.
 */
import { existsSync, readFileSync } from 'node:fs';
import { convertSavedModel, type ConvertProgress } from './convert.js';
import { ConverterError } from './errors.js';
import { readNpy, runSavedModel } from './run.js';
import { showSavedModel } from './savedmodel/show.js';
import { DEFAULT_SHARD_SIZE, writeGraphModel } from './writer/graph-model-writer.js';
import type { QuantizationDtype, QuantizationMap } from './writer/quantize.js';

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/** Flags that may take an optional value (`--quantize_uint8` or `--quantize_uint8=pat,...`). */
const OPTIONAL_VALUE = new Set(['quantize_float16', 'quantize_uint8', 'quantize_uint16']);
const BOOLEAN = new Set(['all', 'skip_op_check', 'no_optimize', 'no_fuse', 'use_structured_outputs_names', 'quiet', 'help', 'all_or_nothing']);

function parseArgs(argv: string[], positionalCount: number): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)).replace(/-/g, '_');
      if (eq >= 0) flags.set(name, a.slice(eq + 1));
      else if (BOOLEAN.has(name)) flags.set(name, true);
      else if (OPTIONAL_VALUE.has(name)) {
        const next = argv[i + 1];
        // Like argparse nargs='?': a following non-flag value is the pattern list once the positionals are in.
        if (next !== undefined && !next.startsWith('--') && positional.length >= positionalCount) {
          flags.set(name, next);
          i++;
        } else flags.set(name, true);
      } else {
        const next = argv[i + 1];
        if (next === undefined) throw new ConverterError('INVALID_ARGUMENT', `flag --${name} needs a value`);
        flags.set(name, next);
        i++;
      }
    } else positional.push(a);
  }
  return { positional, flags };
}

function str(flags: Map<string, string | true>, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

const USAGE: Record<'convert' | 'show' | 'run', string> = {
  convert:
    'usage: convert <saved_model_dir> <output_dir> [--signature_name serving_default|all] [--saved_model_tags serve]\n' +
    '         [--quantize_float16[=patterns] | --quantize_uint8[=patterns] | --quantize_uint16[=patterns]]\n' +
    '         [--weight_shard_size_bytes 4194304] [--skip_op_check] [--no_optimize] [--no_fuse]\n' +
    '         [--use_structured_outputs_names] [--all_or_nothing] [--quiet]\n' +
    '  --signature_name all converts every serving signature that can be converted and lists the others\n' +
    '  with the reason (exit 1 only if none converted; --all_or_nothing: exit 1 if any cannot be).\n' +
    '  --quiet prints nothing on success (warnings about skipped signatures still go to stderr).\n',
  show: 'usage: show --dir <saved_model_dir> [--tag_set serve] [--signature_def NAME] [--all]\n',
  run:
    'usage: run --dir <saved_model_dir> [--tag_set serve] --signature_def NAME\n' +
    '         [--inputs "key=file.npy;key2=file.json"] [--input_exprs "key=[[1,2]];key2=3"]\n' +
    "         [--input_examples 'inputs=[{\"x\":[2.0]}]']\n",
};

function quantizationFrom(flags: Map<string, string | true>): QuantizationMap | undefined {
  const map: QuantizationMap = {};
  for (const dt of ['float16', 'uint8', 'uint16'] as QuantizationDtype[]) {
    const v = flags.get(`quantize_${dt}`);
    if (v === undefined) continue;
    map[dt] = v === true || v === '' ? true : v.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return Object.keys(map).length ? map : undefined;
}

/** Parses `a=x;b=y` into entries. */
function keyValues(s: string, what: string): [string, string][] {
  return s
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new ConverterError('INVALID_ARGUMENT', `${what} entry "${p}" must be <input_key>=<value>`);
      return [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    });
}

function parseLiteral(s: string, what: string): unknown {
  const json = s.replace(/'/g, '"').replace(/\bTrue\b/g, 'true').replace(/\bFalse\b/g, 'false');
  try {
    return JSON.parse(json);
  } catch {
    throw new ConverterError('INVALID_ARGUMENT', `${what}: cannot parse "${s}" (expected a JSON number, string or nested array)`);
  }
}

function formatValue(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));
}

async function doConvert(args: ParsedArgs, io: CliIo): Promise<number> {
  const [input, output] = args.positional;
  if (!input || !output || args.positional.length > 2) {
    io.stderr(USAGE.convert);
    return 2;
  }
  const shardFlag = str(args.flags, 'weight_shard_size_bytes');
  const shard = shardFlag === undefined ? DEFAULT_SHARD_SIZE : Number(shardFlag);
  if (!Number.isInteger(shard) || shard <= 0) throw new ConverterError('INVALID_ARGUMENT', `--weight_shard_size_bytes must be a positive integer, got "${shardFlag}"`);
  const quiet = args.flags.has('quiet');
  let lastPct = -1;
  const onProgress = (p: ConvertProgress) => {
    const pct = Math.round(p.fraction * 100);
    if (quiet || pct === lastPct) return;
    lastPct = pct;
    io.stderr(`[convert ${String(pct).padStart(3)}%] ${p.message}\n`);
  };
  const quantization = quantizationFrom(args.flags);
  const result = await convertSavedModel(input, {
    signatureName: str(args.flags, 'signature_name') ?? 'serving_default',
    tags: (str(args.flags, 'saved_model_tags') ?? 'serve').split(',').map((s) => s.trim()).filter(Boolean),
    ...(quantization ? { quantization } : {}),
    optimize: !args.flags.has('no_optimize'),
    fuse: !args.flags.has('no_fuse'),
    skipOpCheck: args.flags.has('skip_op_check'),
    useStructuredOutputNames: args.flags.has('use_structured_outputs_names'),
    allOrNothing: args.flags.has('all_or_nothing'),
    onProgress,
  });
  const files = writeGraphModel(result, output, { weightShardSizeBytes: shard });
  for (const [name, why] of Object.entries(result.skippedSignatures)) io.stderr(`warning: skipped signature "${name}": ${why}\n`);
  if (quiet) return 0;
  io.stdout(
    `Converted ${input} → ${output}: signature(s) ${result.signatures.map((s) => s.name).join(', ')}; ` +
      `${result.stats.nodes} nodes, ${result.stats.weights} weights (${result.stats.weightBytes} bytes) in ${files.length - 1} shard(s); ` +
      `${result.stats.ms.toFixed(0)} ms\n`,
  );
  return 0;
}

async function doRun(args: ParsedArgs, io: CliIo): Promise<number> {
  const dir = str(args.flags, 'dir');
  const sig = str(args.flags, 'signature_def');
  if (!dir || !sig) {
    io.stderr(USAGE.run);
    return 2;
  }
  const inputValues: Record<string, unknown> = {};
  const inputsFlag = str(args.flags, 'inputs');
  if (inputsFlag) {
    for (const [k, file] of keyValues(inputsFlag, '--inputs')) {
      if (!existsSync(file)) throw new ConverterError('NOT_FOUND', `--inputs: file ${file} for input "${k}" does not exist`);
      inputValues[k] = file.endsWith('.npy') ? readNpy(file) : parseLiteral(readFileSync(file, 'utf8'), `--inputs ${k}`);
    }
  }
  const exprs = str(args.flags, 'input_exprs');
  if (exprs) for (const [k, v] of keyValues(exprs, '--input_exprs')) inputValues[k] = parseLiteral(v, `--input_exprs ${k}`);
  let examples: Record<string, unknown>[] | undefined;
  const ex = str(args.flags, 'input_examples');
  if (ex) {
    const entries = keyValues(ex, '--input_examples');
    if (entries.length !== 1) throw new ConverterError('INVALID_ARGUMENT', '--input_examples takes exactly one <input_key>=[{...}, ...] entry');
    const v = parseLiteral(entries[0]![1], '--input_examples');
    if (!Array.isArray(v)) throw new ConverterError('INVALID_ARGUMENT', '--input_examples value must be a list of feature dicts');
    examples = v as Record<string, unknown>[];
  }
  const tags = (str(args.flags, 'tag_set') ?? 'serve').split(',').map((s) => s.trim()).filter(Boolean);
  const outputs = await runSavedModel(dir, { tags, signatureName: sig, inputValues, ...(examples ? { examples } : {}) });
  for (const [k, o] of Object.entries(outputs)) {
    io.stdout(`Result for output key ${k}:\n${formatValue(o.value)}\n(dtype ${o.dtype}, shape [${o.shape.join(', ')}])\n`);
  }
  return 0;
}

export async function runConverterCli(command: 'convert' | 'show' | 'run', argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parseArgs(argv, command === 'convert' ? 2 : 0);
    if (args.flags.has('help')) {
      io.stdout(USAGE[command]);
      return 0;
    }
    switch (command) {
      case 'convert':
        return await doConvert(args, io);
      case 'show': {
        const dir = str(args.flags, 'dir') ?? args.positional[0];
        if (!dir) {
          io.stderr(USAGE.show);
          return 2;
        }
        const tagSet = str(args.flags, 'tag_set');
        const signatureDef = str(args.flags, 'signature_def');
        io.stdout(
          showSavedModel(dir, {
            ...(tagSet ? { tagSet } : {}),
            ...(signatureDef ? { signatureDef, tagSet: tagSet ?? 'serve' } : {}),
            all: args.flags.has('all'),
          }),
        );
        return 0;
      }
      case 'run':
        return await doRun(args, io);
      default:
        io.stderr(`unknown command "${String(command)}" (expected convert, show or run)\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ConverterError) {
      io.stderr(`error: ${e.message}\n`);
      return 1;
    }
    io.stderr(`error: INTERNAL: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}
