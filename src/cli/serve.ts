// `tfjs-serving serve`: a drop-in for `tensorflow_model_server` (REST; gRPC with --port) for models TF.js can run.
import { readFile } from 'node:fs/promises';
import { ServingError, messageOf } from '../core/status.js';
import { normalizeBatchingParameters } from '../batching/batching-parameters.js';
import type { BatchingParameters } from '../batching/batching-parameters.js';
import type { BackendName } from '../runtime/backends.js';
import type { ModelConfig, ModelServerOptions } from '../server/model-server-options.js';
import type { ModelServer } from '../server/model-server.js';
import { LocalModelServer } from '../server/local-model-server.js';
import { NodeWorkerModelServer } from '../worker-client/node-worker-model-server.js';
import { registerFileSystemSource } from '../server/file-system-source-factory.js';
import { registerS3Source } from '../server/s3-source-factory.js';
import { SourceErrorEvent } from '../server/version-state-event.js';
import { FileSystemModelStore } from '../storage/file-system-model-store.js';
import type { DrainReport, RestServer } from '../rest/node-http.js';
import { startRestServer } from '../rest/node-http.js';
import { DEFAULT_MAX_BODY_BYTES } from '../rest/body.js';
import type { CliIo } from './cli-io.js';
import { UNIMPLEMENTED_SERVE_FLAGS, SERVE_FLAGS, flagHelp, packageVersion, parseFlags } from './flags.js';
import type { ParsedFlags } from './flags.js';
import { looksLikeJson, parseModelServerConfigText } from '../config/model-server-config.js';
import { parseBatchingParametersText } from '../config/batching-parameters-file.js';
import { parseMonitoringConfigText } from '../config/monitoring-config-file.js';
import type { GrpcServer } from '../grpc/grpc-server.js';
import { parseGrpcChannelArguments, startGrpcServer } from '../grpc/grpc-server.js';

export const SERVE_USAGE = `  tfjs-serving serve [--port 8500] [--rest_api_port 8501] --model_name NAME --model_base_path URL_OR_DIR
  tfjs-serving serve [--port 8500] [--rest_api_port 8501] --model_config_file models.config|models.json
      Serves TF Serving's REST API (/v1/models/...) and /monitoring/prometheus/metrics, and with --port
      its gRPC API (PredictionService, ModelService; --port 0 picks a free port). Config files (models,
      --batching_parameters_file, --monitoring_config_file) are TF Serving's text protos, or JSON. A base path is a
      repository URL (manifest.json), a local directory of numeric version directories holding TF.js
      graph models (model.json) or SavedModels (saved_model.pb, converted on load), or s3://BUCKET/PREFIX
      in either layout (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, S3_ENDPOINT, S3_USE_HTTPS). \`serve --help\` lists the flags.
`;

/** `serve --help`: the usage, every flag, and the TF Serving flags that are recognized but not implemented. */
export function serveHelp(): string {
  return (
    `Usage:\n${SERVE_USAGE}\nFlags (TF Serving's names; --flag=value or --flag value; --noflag for false):\n${flagHelp(SERVE_FLAGS)}\n` +
    `  --version${' '.repeat(41)} print the version and exit\n\n` +
    `TF Serving flags accepted with a warning and ignored:\n  ${UNIMPLEMENTED_SERVE_FLAGS.map((f) => `--${f.name}`).join(' ')}\n`
  );
}

interface Flags {
  [name: string]: string | undefined;
}

/** Parses `serve`'s flags (table in flags.ts): values checked, unknown flags refused, unimplemented TF Serving flags warned about. */
export function parseServeArgs(args: string[]): ParsedFlags {
  return parseFlags(args, SERVE_FLAGS, { command: 'serve', unimplemented: UNIMPLEMENTED_SERVE_FLAGS, versionFlag: true });
}

/** Parses TF Serving style flags: `--name=value`, `--name value`, and bare `--bool` / `--nobool`. */
export function parseServeFlags(args: string[]): Flags {
  return parseServeArgs(args).flags;
}

function num(flags: Flags, name: string, fallback: number, { min = 0, integer = true } = {}): number {
  const s = flags[name];
  if (s === undefined) return fallback;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) {
    throw new ServingError('INVALID_ARGUMENT', `--${name} needs a${integer ? 'n integer' : ' number'} >= ${min}, got ${JSON.stringify(s)}`);
  }
  return n;
}

/** Reads a model config file: JSON `{"model_config_list": [...]}`, `{"modelConfigList": [...]}` or a bare list. */
export async function readModelConfigFile(path: string): Promise<ModelConfig[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ServingError('NOT_FOUND', `--model_config_file ${path} cannot be read: ${messageOf(e)}`);
  }
  // TF Serving's own format: a text-format ModelServerConfig.
  if (!looksLikeJson(text)) return parseModelServerConfigText(text, path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ServingError('INVALID_ARGUMENT', `--model_config_file ${path} is not JSON (${messageOf(e)}); expected {"model_config_list": [{"name", "base_path", ...}]}`);
  }
  const obj = json as { model_config_list?: unknown; modelConfigList?: unknown; config?: unknown } | unknown[];
  let list = Array.isArray(obj) ? obj : (obj?.model_config_list ?? obj?.modelConfigList);
  // TF Serving's text proto nests the configs one level deeper: model_config_list { config { … } }.
  if (list && !Array.isArray(list) && typeof list === 'object' && Array.isArray((list as { config?: unknown }).config)) list = (list as { config: unknown[] }).config;
  if (!Array.isArray(list)) throw new ServingError('INVALID_ARGUMENT', `--model_config_file ${path}: expected {"model_config_list": [...]}`);
  return list.map((c) => camelConfig(c));
}

function camelConfig(c: unknown): ModelConfig {
  if (typeof c !== 'object' || c === null) return c as ModelConfig;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) out[camel(k)] = k === 'model_version_policy' || k === 'version_labels' ? camelDeep(v, k === 'version_labels') : v;
  return out as unknown as ModelConfig;
}

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
}

function camelDeep(v: unknown, keepKeys: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => camelDeep(x, false));
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [keepKeys ? k : camel(k), camelDeep(x, false)]));
}

/** Reads `--batching_parameters_file`: JSON, or TF Serving's text proto (`max_batch_size { value: 128 }`). */
export async function readBatchingParameters(path: string): Promise<BatchingParameters> {
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new ServingError('NOT_FOUND', `--batching_parameters_file ${path} cannot be read: ${messageOf(e)}`);
  });
  if (text.trim().startsWith('{') && text.includes('"')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ServingError('INVALID_ARGUMENT', `--batching_parameters_file ${path} is not valid JSON (${messageOf(e)}); expected {"max_batch_size": 32, ...} or TF Serving's text format`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ServingError('INVALID_ARGUMENT', `--batching_parameters_file ${path}: expected a JSON object of BatchingParameters`);
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [camel(k), v])) as BatchingParameters;
  }
  try {
    return parseBatchingParametersText(text, path).parameters;
  } catch (e) {
    // The parser's message starts with the file and position; say which flag named the file.
    const err = ServingError.from(e);
    throw new ServingError(err.code, `--batching_parameters_file ${err.message}`, { cause: e });
  }
}

/** Reads `--monitoring_config_file` (text-format MonitoringConfig): where REST serves Prometheus metrics, if at all. */
export async function readMonitoringConfig(path: string): Promise<string | false> {
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new ServingError('NOT_FOUND', `--monitoring_config_file ${path} cannot be read: ${messageOf(e)}`);
  });
  const config = parseMonitoringConfigText(text, path);
  return config.prometheus.enable ? config.prometheus.path : false;
}

/** Builds the ModelServer options the flags describe. */
export async function serveOptions(flags: Flags): Promise<ModelServerOptions> {
  let modelConfigList: ModelConfig[];
  if (flags.model_config_file !== undefined) {
    modelConfigList = await readModelConfigFile(flags.model_config_file);
  } else {
    if (!flags.model_base_path) throw new ServingError('INVALID_ARGUMENT', `serve needs --model_base_path (with --model_name, default "default") or --model_config_file\n\nUsage:\n${SERVE_USAGE}`);
    modelConfigList = [{ name: flags.model_name ?? 'default', basePath: flags.model_base_path }];
  }
  const pollSeconds = num(flags, 'file_system_poll_wait_seconds', 1, { min: -Infinity, integer: false });
  const options: ModelServerOptions = {
    modelConfigList,
    // TF Serving: 0 polls once, a negative value never polls again (tests only).
    pollIntervalMs: pollSeconds > 0 ? Math.round(pollSeconds * 1000) : 0,
    enableModelWarmup: flags.enable_model_warmup !== 'false',
    maxNumLoadRetries: num(flags, 'max_num_load_retries', 5),
    loadRetryIntervalMs: Math.round(num(flags, 'load_retry_interval_micros', 60_000_000) / 1000),
    numLoadThreads: Math.max(1, num(flags, 'num_load_threads', 1)),
    allowVersionLabelsForUnavailableModels: flags.allow_version_labels_for_unavailable_models === 'true',
    // The REST port opens once each version has had its first load attempt; retries are logged, not waited for.
    waitForLoadRetries: false,
  };
  // TF Serving's ServerCore option (the server side reads it as `failIfNoModelVersionsFound`).
  if (flags.fail_if_no_model_versions_found === 'true') (options as ModelServerOptions & { failIfNoModelVersionsFound?: boolean }).failIfNoModelVersionsFound = true;
  if (flags.total_model_memory_limit_bytes !== undefined) options.totalModelMemoryLimitBytes = num(flags, 'total_model_memory_limit_bytes', 0, { min: 1 });
  if (flags.model_loading !== undefined) {
    if (flags.model_loading !== 'eager' && flags.model_loading !== 'on-demand') {
      throw new ServingError('INVALID_ARGUMENT', `--model_loading must be eager or on-demand, got ${JSON.stringify(flags.model_loading)}`);
    }
    options.modelLoading = flags.model_loading;
  }
  if (flags.model_store_dir) options.store = new FileSystemModelStore(flags.model_store_dir);
  if (flags.backend) options.backends = flags.backend.split(',') as BackendName[];
  if (flags.enable_batching === 'true') {
    options.enableBatching = true;
    if (flags.batching_parameters_file) {
      options.batchingParameters = await readBatchingParameters(flags.batching_parameters_file);
      try {
        normalizeBatchingParameters(options.batchingParameters, undefined, 'BatchingParameters');
      } catch (e) {
        const err = ServingError.from(e);
        throw new ServingError(err.code, `--batching_parameters_file ${flags.batching_parameters_file}: ${err.message}`, { cause: e });
      }
    }
  }
  return options;
}

export interface ServeHandle {
  /** A NodeWorkerModelServer (the models in a worker thread), or with `--inference_thread=false` a LocalModelServer. */
  readonly server: ModelServer;
  readonly rest: RestServer;
  /** The gRPC API, when `--port` was given. */
  readonly grpc?: GrpcServer;
  /**
   * Stops accepting (REST after taking in the connections the kernel already queued; gRPC), fails
   * readiness, answers every request received, closes the model server. `onListenerClosed` is told
   * how many requests (REST and gRPC) are in flight once REST's listener is closed; resolves with
   * REST's exact counts.
   */
  shutdown(onListenerClosed?: (inFlight: number) => void): Promise<DrainReport>;
}

/** Starts the model server and its REST API (what `serve` runs until a signal). */
export async function startServe(flags: Flags, io: CliIo): Promise<ServeHandle> {
  const options = await serveOptions(flags);
  registerFileSystemSource(); // TF Serving's local base paths
  registerS3Source(); // s3://bucket/prefix, with the AWS environment variables
  // Each distinct source error once (like TF Serving's "Could not find base path"): a missing repository
  // or wrong credentials are never silent; serving goes on.
  const said = new Set<string>();
  options.listeners = {
    ...options.listeners,
    sourceerror: (e) => {
      const key = `${e.model}
${e.code}
${e.message}`;
      if (said.has(key)) return;
      said.add(key);
      io.stderr(`Model ${e.model}: its source reports ${e.code}: ${e.message}
`);
    },
    // Every failed load attempt, like TF Serving's retry log: a version that keeps failing is never silent.
    loadfailure: (e) => {
      const next = e.retriesLeft > 0 ? `retrying in ${e.retryInMs / 1000} s (${e.retriesLeft} ${e.retriesLeft === 1 ? 'retry' : 'retries'} left)` : 'no retries left: the version is not served';
      io.stderr(`Model ${e.model} version ${e.version}: load attempt ${e.attempt} failed: ${e.code}: ${e.message}; ${next}\n`);
    },
  };
  // The models compute in a worker thread (default): this thread stays free for HTTP, probes and deadlines.
  const threads = num(flags, 'inference_threads', 1, { min: 1 });
  if (threads > 1 && flags.inference_thread === 'false') {
    throw new ServingError('INVALID_ARGUMENT', `--inference_threads=${threads} needs the inference thread: leave out --inference_thread=false`);
  }
  const server: ModelServer =
    flags.inference_thread === 'false'
      ? await LocalModelServer.start(options)
      : await NodeWorkerModelServer.start(
          { ...options, store: undefined, transferInputs: true, ...(threads > 1 ? { inferenceWorkers: threads } : {}) },
          flags.model_store_dir ? { storeDir: flags.model_store_dir } : {},
        );
  for (const config of options.modelConfigList) {
    const status = await server.getModelStatus(config.name).catch(() => undefined);
    const available = status?.model_version_status.filter((s) => s.state === 'AVAILABLE').map((s) => s.version) ?? [];
    io.stderr(`Model ${config.name} (${config.basePath}): ${available.length ? `serving version(s) ${available.join(', ')}` : 'no version AVAILABLE yet'}\n`);
  }
  const port = num(flags, 'rest_api_port', 8501);
  let rest: RestServer;
  let grpc: GrpcServer | undefined;
  try {
    const prometheusPath = flags.monitoring_config_file ? await readMonitoringConfig(flags.monitoring_config_file) : undefined;
    rest = await startRestServer(server, {
      port,
      host: flags.rest_api_host ?? '0.0.0.0',
      cors: flags.rest_api_enable_cors_support === 'true',
      timeoutMs: num(flags, 'rest_api_timeout_in_ms', 30_000),
      maxBodyBytes: num(flags, 'rest_api_max_body_bytes', DEFAULT_MAX_BODY_BYTES, { min: 1 }),
      ...(prometheusPath !== undefined ? { prometheusPath } : {}),
      ...(options.modelLoading !== undefined ? { modelLoading: options.modelLoading } : {}),
    });
  } catch (e) {
    await server.close();
    throw e instanceof ServingError && e.code === 'INVALID_ARGUMENT' ? e : new ServingError('UNAVAILABLE', `cannot listen on port ${port}: ${messageOf(e)}`, { cause: e });
  }
  if (flags.port !== undefined) {
    try {
      const channelOptions = flags.grpc_channel_arguments ? parseGrpcChannelArguments(flags.grpc_channel_arguments) : undefined;
      grpc = await startGrpcServer(server, { port: num(flags, 'port', 8500), host: '0.0.0.0', ...(channelOptions ? { channelOptions } : {}) });
    } catch (e) {
      await rest.close();
      await server.close();
      throw e;
    }
    io.stderr(`Running gRPC ModelServer at 0.0.0.0:${grpc.port} ...\n`);
  }
  let stopReload: (() => void) | undefined;
  const reloadSeconds = num(flags, 'model_config_file_poll_wait_seconds', 0, { integer: false });
  if (flags.model_config_file && reloadSeconds > 0) {
    let last = JSON.stringify(options.modelConfigList);
    const timer = setInterval(() => {
      void readModelConfigFile(flags.model_config_file!)
        .then(async (list) => {
          const next = JSON.stringify(list);
          if (next === last) return;
          last = next;
          await server.reloadConfig({ modelConfigList: list });
          io.stderr(`Reloaded ${flags.model_config_file}\n`);
        })
        .catch((e: unknown) => io.stderr(`Reloading ${flags.model_config_file} failed: ${messageOf(e)}\n`));
    }, reloadSeconds * 1000);
    stopReload = () => clearInterval(timer);
  }
  io.stderr(`Exporting HTTP/REST API at:${flags.rest_api_host ?? 'localhost'}:${rest.port} ...\n`);
  let done: Promise<DrainReport> | undefined;
  return {
    server,
    rest,
    ...(grpc ? { grpc } : {}),
    shutdown(onListenerClosed) {
      done ??= (async () => {
        stopReload?.();
        // Both APIs stop accepting and drain their in-flight requests before the models unload.
        const [report] = await Promise.all([rest.close((inFlight) => onListenerClosed?.(inFlight + (grpc?.inFlight ?? 0))), grpc?.close()]);
        await server.close();
        return report;
      })();
      return done;
    },
  };
}

/** `tfjs-serving serve …`: runs until SIGTERM/SIGINT, then shuts down gracefully and exits 0. */
export async function serve(args: string[], io: CliIo): Promise<number> {
  const parsed = parseServeArgs(args);
  if (parsed.help) return io.stdout(serveHelp()), 0;
  if (parsed.version) return io.stdout(`tfjs-serving ${packageVersion()}\n`), 0;
  for (const warning of parsed.warnings) io.stderr(warning + '\n');
  const flags = parsed.flags;
  const handle = await startServe(flags, io);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (received: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(received);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  io.stderr(`Received ${signal}: failing readiness, no longer accepting connections\n`);
  const report = await handle.shutdown((inFlight) => io.stderr(`Received ${signal}: finishing ${inFlight} in-flight request(s) and shutting down\n`));
  io.stderr(`Answered ${report.answered} request(s) after ${signal}; server shut down\n`);
  // Nothing should be left, but a backend may keep a handle open: do not hang after a clean shutdown.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  return 0;
}
