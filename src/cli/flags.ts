// The CLI's flag tables and one parser for them: TF Serving style flags (`--name=value`, `--name value`,
// bare `--bool`, `--nobool`), each checked when it is read, so a wrong value fails with the flag's name and
// what was expected before anything starts.
import { readFileSync } from 'node:fs';
import { ServingError } from '../core/status.js';

export type FlagKind = 'bool' | 'string' | 'int' | 'number';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  /** For `int` / `number`: the smallest value accepted (default 0). */
  readonly min?: number;
  /** For `int`: the largest value accepted. */
  readonly max?: number;
  /** What the value is, for help and errors (`PORT`, `MS`, …). */
  readonly value?: string;
  readonly help: string;
  readonly default?: string;
  /** The value may be left out (`--quantize_uint8` or `--quantize_uint8=patterns`). */
  readonly optionalValue?: boolean;
  /** May be given more than once: every value is kept in `ParsedFlags.lists`. */
  readonly repeatable?: boolean;
}

/** A TF Serving flag that is recognized but not implemented: it prints a warning and is ignored. */
export interface UnimplementedFlag {
  readonly name: string;
  readonly kind: 'bool' | 'value';
  readonly why: string;
}

/** The flags `serve` implements (names and meaning from `tensorflow_model_server`). */
export const SERVE_FLAGS: readonly FlagSpec[] = [
  { name: 'port', kind: 'int', min: 0, max: 65535, value: 'PORT', help: "TF Serving's gRPC API (PredictionService, ModelService) on PORT (0 picks a free port); off when not given" },
  { name: 'grpc_channel_arguments', kind: 'string', value: 'K=V,…', help: 'gRPC channel arguments (e.g. grpc.max_connection_age_ms=2000)' },
  { name: 'rest_api_port', kind: 'int', min: 0, max: 65535, value: 'PORT', default: '8501', help: 'port of the HTTP/REST API (0 picks a free port)' },
  { name: 'rest_api_host', kind: 'string', value: 'HOST', default: '0.0.0.0', help: 'address the REST API listens on' },
  { name: 'rest_api_timeout_in_ms', kind: 'int', min: 0, value: 'MS', default: '30000', help: 'timeout of a REST call' },
  { name: 'rest_api_max_body_bytes', kind: 'int', min: 1, value: 'BYTES', default: '67108864', help: 'largest REST request body (streamed size, chunked too); more is RESOURCE_EXHAUSTED' },
  { name: 'rest_api_enable_cors_support', kind: 'bool', help: 'send CORS headers' },
  { name: 'model_name', kind: 'string', value: 'NAME', default: 'default', help: 'name of the model (ignored with --model_config_file)' },
  { name: 'model_base_path', kind: 'string', value: 'URL_OR_DIR', help: 'repository URL (manifest.json) or local directory of numeric version directories' },
  { name: 'model_config_file', kind: 'string', value: 'FILE', help: 'JSON or text-proto ModelServerConfig: {"model_config_list": [{"name", "base_path", …}]}' },
  { name: 'model_config_file_poll_wait_seconds', kind: 'number', min: 0, value: 'S', default: '0', help: 'reload --model_config_file every S seconds (0: read once)' },
  { name: 'file_system_poll_wait_seconds', kind: 'number', min: -Infinity, value: 'S', default: '1', help: 'poll each base path every S seconds (0: once; negative: never again)' },
  { name: 'fail_if_no_model_versions_found', kind: 'bool', help: 'fail at start when a model has no version to serve (a wrong base path) instead of waiting for one' },
  { name: 'enable_batching', kind: 'bool', help: 'batch requests (dynamic batching)' },
  { name: 'batching_parameters_file', kind: 'string', value: 'FILE', help: 'BatchingParameters as JSON or text proto (with --enable_batching)' },
  { name: 'monitoring_config_file', kind: 'string', value: 'FILE', help: 'MonitoringConfig text proto: where REST serves Prometheus metrics, if at all' },
  { name: 'enable_model_warmup', kind: 'bool', default: 'true', help: 'replay warmup.json (or zeros) before a version serves' },
  { name: 'max_num_load_retries', kind: 'int', min: 0, value: 'N', default: '5', help: 'load retries after the first failure' },
  { name: 'load_retry_interval_micros', kind: 'int', min: 0, value: 'US', default: '60000000', help: 'wait between load retries' },
  { name: 'num_load_threads', kind: 'int', min: 0, value: 'N', default: '1', help: 'versions loaded at once' },
  { name: 'total_model_memory_limit_bytes', kind: 'int', min: 1, value: 'BYTES', help: "budget for all loaded versions, each estimated at 1.2 × its files (TF Serving's ServerCore option); unlimited when not given" },
  { name: 'model_loading', kind: 'string', value: 'eager|on-demand', default: 'eager', help: '(tfjs-serving) on-demand: load a model when a request first asks for it, unloading the least recently used to fit --total_model_memory_limit_bytes' },
  { name: 'allow_version_labels_for_unavailable_models', kind: 'bool', help: 'let a new label point at a version not yet AVAILABLE' },
  { name: 'model_store_dir', kind: 'string', value: 'DIR', help: '(tfjs-serving) keep downloaded versions in DIR, so a restart serves them offline' },
  { name: 'backend', kind: 'string', value: 'wasm|cpu', help: '(tfjs-serving) TF.js backends to try, in order, comma-separated' },
  { name: 'inference_thread', kind: 'bool', default: 'true', help: '(tfjs-serving) run the models in a worker thread, so status, metrics, probes and deadlines answer while one computes' },
  { name: 'inference_threads', kind: 'int', min: 1, max: 16, value: 'N', default: '1', help: '(tfjs-serving) spread predictions over N worker threads, each loading every model (N cores for wasm/cpu; memory x N)' },
];

/** `tensorflow_model_server` flags (tensorflow_serving/model_servers/main.cc) that `serve` does not implement. */
export const UNIMPLEMENTED_SERVE_FLAGS: readonly UnimplementedFlag[] = [
  { name: 'grpc_socket_path', kind: 'value', why: 'no gRPC on a UNIX socket here' },
  { name: 'grpc_max_threads', kind: 'value', why: 'Node serves on one event loop' },
  { name: 'ssl_config_file', kind: 'value', why: 'no TLS here: put a TLS-terminating proxy in front' },
  { name: 'use_alts_credentials', kind: 'bool', why: 'no ALTS credentials here' },
  { name: 'rest_api_num_threads', kind: 'value', why: 'Node serves on one event loop' },
  { name: 'platform_config_file', kind: 'value', why: 'one platform here: TF.js graph models (SavedModels are converted)' },
  { name: 'enable_per_model_batching_parameters', kind: 'bool', why: 'set batchingParameters per model in --model_config_file instead' },
  { name: 'num_unload_threads', kind: 'value', why: 'unloads are not threaded here' },
  { name: 'flush_filesystem_caches', kind: 'bool', why: 'no file system caches to flush' },
  { name: 'tensorflow_session_parallelism', kind: 'value', why: 'TF.js has no session thread pools' },
  { name: 'tensorflow_session_config_file', kind: 'value', why: 'TF.js has no session config' },
  { name: 'tensorflow_intra_op_parallelism', kind: 'value', why: 'TF.js has no op thread pools' },
  { name: 'tensorflow_inter_op_parallelism', kind: 'value', why: 'TF.js has no op thread pools' },
  { name: 'per_process_gpu_memory_fraction', kind: 'value', why: 'no GPU memory fraction in TF.js' },
  { name: 'saved_model_tags', kind: 'value', why: 'SavedModels are converted with the tag set "serve"' },
  { name: 'num_request_iterations_for_warmup', kind: 'value', why: 'each warmup request runs once' },
  { name: 'remove_unused_fields_from_bundle_metagraph', kind: 'bool', why: 'no MetaGraphDef is kept after conversion' },
  { name: 'prefer_tflite_model', kind: 'bool', why: 'no TF Lite here' },
  { name: 'num_tflite_pools', kind: 'value', why: 'no TF Lite here' },
  { name: 'num_tflite_interpreters_per_pool', kind: 'value', why: 'no TF Lite here' },
  { name: 'enable_signature_method_name_check', kind: 'bool', why: 'method names are not checked' },
  { name: 'xla_cpu_compilation_enabled', kind: 'bool', why: 'no XLA in TF.js' },
  { name: 'enable_profiler', kind: 'bool', why: 'no profiler service here' },
  { name: 'thread_pool_factory_config_file', kind: 'value', why: 'no thread pools here' },
  { name: 'mixed_precision', kind: 'value', why: 'quantize at conversion instead (tfjs-serving convert --quantize_float16)' },
  { name: 'skip_initialize_tpu', kind: 'bool', why: 'no TPU here' },
  { name: 'enable_grpc_healthcheck_service', kind: 'bool', why: 'no gRPC health service here; GET /v1/models/NAME answers over REST' },
];

/** The flags `convert`, `show` and `run` take (converter/cli.ts reads them). */
export const CONVERTER_FLAGS: Readonly<Record<'convert' | 'show' | 'run', readonly FlagSpec[]>> = {
  convert: [
    { name: 'signature_name', kind: 'string', help: '' },
    { name: 'saved_model_tags', kind: 'string', help: '' },
    { name: 'quantize_float16', kind: 'string', optionalValue: true, help: '' },
    { name: 'quantize_uint8', kind: 'string', optionalValue: true, help: '' },
    { name: 'quantize_uint16', kind: 'string', optionalValue: true, help: '' },
    { name: 'weight_shard_size_bytes', kind: 'int', min: 1, help: '' },
    { name: 'skip_op_check', kind: 'bool', help: '' },
    { name: 'no_optimize', kind: 'bool', help: '' },
    { name: 'no_fuse', kind: 'bool', help: '' },
    { name: 'use_structured_outputs_names', kind: 'bool', help: '' },
    { name: 'quiet', kind: 'bool', help: '' },
  ],
  show: [
    { name: 'dir', kind: 'string', help: '' },
    { name: 'tag_set', kind: 'string', help: '' },
    { name: 'signature_def', kind: 'string', help: '' },
    { name: 'all', kind: 'bool', help: '' },
  ],
  run: [
    { name: 'dir', kind: 'string', help: '' },
    { name: 'tag_set', kind: 'string', help: '' },
    { name: 'signature_def', kind: 'string', help: '' },
    { name: 'inputs', kind: 'string', help: '' },
    { name: 'input_exprs', kind: 'string', help: '' },
    { name: 'input_examples', kind: 'string', help: '' },
  ],
};

export interface ParsedFlags {
  /** Flag name → value (`'true'` / `'false'` for booleans), only for flags given. */
  readonly flags: Record<string, string | undefined>;
  /** Every value of each repeatable flag, in order. */
  readonly lists: Record<string, string[]>;
  /** One line per recognized-but-unimplemented flag that was given. */
  readonly warnings: string[];
  readonly positional: string[];
  /** `--help` / `-h` was given. */
  readonly help: boolean;
  /** `--version` was given (only where `versionFlag` is set). */
  readonly version: boolean;
}

export interface ParseOptions {
  readonly command: string;
  readonly unimplemented?: readonly UnimplementedFlag[];
  /** Accept positional arguments (default: refuse them). */
  readonly positional?: boolean;
  /** `--version` prints the package version (TF Serving's `tensorflow_model_server --version`). */
  readonly versionFlag?: boolean;
}

/** Parses and checks flags against `specs`; throws INVALID_ARGUMENT naming the flag on any mistake. */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[], options: ParseOptions): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const unimplemented = new Map((options.unimplemented ?? []).map((u) => [u.name, u]));
  const flags: Record<string, string | undefined> = {};
  const lists: Record<string, string[]> = {};
  const warnings: string[] = [];
  const positional: string[] = [];
  let help = false;
  let version = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--help' || a === '-h' || a === '-help') {
      help = true;
      continue;
    }
    if (options.versionFlag && (a === '--version' || a === '-version')) {
      version = true;
      continue;
    }
    const m = /^--?([A-Za-z0-9_-]+)(?:=([\s\S]*))?$/.exec(a);
    if (!m || a === '-' || a === '--') {
      if (options.positional && !a.startsWith('-')) {
        positional.push(a);
        continue;
      }
      throw usageError(options.command, `${options.command} takes only --flags, got ${JSON.stringify(a)}`);
    }
    let name = (m[1] ?? '').replace(/-/g, '_');
    let value = m[2];
    const negated = !byName.has(name) && !unimplemented.has(name) && name.startsWith('no') && byName.get(name.slice(2))?.kind === 'bool';
    if (negated) {
      if (value !== undefined) throw usageError(options.command, `--${name} takes no value, got ${JSON.stringify(value)}`);
      name = name.slice(2);
      value = 'false';
    }
    const skipped = unimplemented.get(name);
    if (skipped) {
      if (skipped.kind === 'value' && value === undefined) i++;
      if (skipped.kind === 'bool' && value === undefined && (args[i + 1] === 'true' || args[i + 1] === 'false')) i++;
      warnings.push(`warning: --${name} is a TF Serving flag that tfjs-serving does not implement (${skipped.why}); ignored`);
      continue;
    }
    const spec = byName.get(name);
    if (!spec) throw usageError(options.command, `unknown flag --${name} (${options.command} --help lists the flags)`);
    if (spec.kind === 'bool') {
      if (value === undefined && (args[i + 1] === 'true' || args[i + 1] === 'false')) value = args[++i];
      value ??= 'true';
      if (value !== 'true' && value !== 'false') throw usageError(options.command, `--${name} takes true or false, got ${JSON.stringify(value)}`);
    } else {
      if (value === undefined) value = args[++i];
      if (value === undefined) throw usageError(options.command, `--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
      checkValue(spec, value);
    }
    flags[name] = value;
    if (spec.repeatable) (lists[name] ??= []).push(value);
  }
  return { flags, lists, warnings, positional, help, version };
}

function checkValue(spec: FlagSpec, value: string): void {
  if (spec.kind !== 'int' && spec.kind !== 'number') return;
  const n = Number(value);
  const min = spec.min ?? 0;
  const max = spec.max ?? Infinity;
  const integer = spec.kind === 'int';
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    const sign = max !== Infinity ? '' : min === 0 ? 'non-negative ' : min === 1 && integer ? 'positive ' : '';
    const range = max !== Infinity ? ` from ${min} to ${max}` : min === -Infinity || min === 0 || (min === 1 && integer) ? '' : ` >= ${min}`;
    const what = `${sign}${integer ? 'integer' : 'number'}`;
    throw new ServingError('INVALID_ARGUMENT', `--${spec.name} needs a${/^[aeiou]/.test(what) ? 'n' : ''} ${what}${range}${spec.value ? ` (${spec.value})` : ''}, got ${JSON.stringify(value)}`);
  }
}

function usageError(_command: string, message: string): ServingError {
  return new ServingError('INVALID_ARGUMENT', message);
}

/**
 * Checks only the flag names of a command whose own parser reads the values (the converter's
 * `convert`, `show`, `run`): an unknown flag fails here, naming it, instead of being ignored there.
 */
export function checkFlagNames(args: readonly string[], specs: readonly FlagSpec[], command: string): void {
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (!a.startsWith('--') || a === '--help') continue;
    const eq = a.indexOf('=');
    const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)).replace(/-/g, '_');
    const spec = byName.get(name);
    if (!spec) throw usageError(command, `unknown flag --${name} (${command} --help lists the flags)`);
    if (eq < 0 && spec.kind !== 'bool' && !spec.optionalValue) {
      if (args[i + 1] === undefined) throw usageError(command, `--${name} needs a value`);
      i++;
    }
  }
}

/** The flags of a table as help lines. */
export function flagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const left = `  --${s.name}${s.kind === 'bool' ? '' : `=${s.value ?? 'VALUE'}`}`;
      const dflt = s.default !== undefined ? ` (default ${s.default})` : '';
      return `${left.padEnd(50)} ${s.help}${dflt}`;
    })
    .join('\n');
}

/** The package's version, from its package.json (found above this file in src/ and in dist/src/). */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      // Our own package.json: checked by its name below.
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tfjs-serving' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}
