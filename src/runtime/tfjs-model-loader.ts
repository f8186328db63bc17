import * as tf from '@tensorflow/tfjs';
import type { Loader, ResourceEstimate } from '../core/loader.js';
import { ServingError } from '../core/status.js';
import type { ModelStore, StoredVersion } from '../storage/model-store.js';
import { MODEL_JSON, WARMUP_FILE, expectedWeightBytes, parseGraphModelJson } from '../repository/graph-model-json.js';
import { readSignatures } from './signature.js';
import { TfjsServable } from './tfjs-servable.js';
import { parseWarmupFile, runWarmup, synthesizeWarmupRequests } from './warmup.js';

/** TF Serving estimates a SavedModel's RAM as 1.2 × the bytes of its files. */
export const RESOURCE_ESTIMATE_FACTOR = 1.2;

/** How far a load is: reading the stored files into TF.js (`load`), replaying warmup requests (`warmup`). */
export interface LoadProgress {
  readonly phase: 'load' | 'warmup';
  /** The weight file just read (`load`). */
  readonly file?: string;
  /** Bytes of the version's files read (all of them during `warmup`). */
  readonly loadedBytes: number;
  readonly totalBytes: number;
  /** 0–100 through the phase. */
  readonly percent: number;
}

export interface TfjsModelLoaderOptions {
  /** Replay warmup.json, or synthesized requests, before the version becomes AVAILABLE. Default true. */
  warmup?: boolean;
  /** Told as the load goes (the server turns it into `progress` events). */
  onProgress?: (progress: LoadProgress) => void;
}

/**
 * Loads one committed version of a TF.js graph model from the local store (no second download),
 * through an in-memory IOHandler, warms it up, and disposes everything on unload.
 */
export class TfjsModelLoader implements Loader<TfjsServable> {
  private servable: TfjsServable | undefined;

  constructor(
    readonly store: ModelStore,
    readonly model: string,
    readonly version: number,
    private readonly options: TfjsModelLoaderOptions = {},
  ) {}

  private get where(): string {
    return `model ${this.model} version ${this.version}`;
  }

  private async record(): Promise<StoredVersion> {
    const record = await this.store.getVersion(this.model, this.version);
    if (!record) throw new ServingError('NOT_FOUND', `${this.where} is not in the ${this.store.kind} store`);
    return record;
  }

  async estimateResources(): Promise<ResourceEstimate> {
    const record = await this.record();
    const bytes = record.files.reduce((sum, f) => sum + f.size, 0);
    return { ramBytes: Math.ceil(RESOURCE_ESTIMATE_FACTOR * bytes) };
  }

  async load(): Promise<TfjsServable> {
    const startedAt = performance.now();
    const record = await this.record();
    const json = parseGraphModelJson(await this.store.readFile(this.model, this.version, MODEL_JSON), this.where);
    const groups = json.weightsManifest ?? [];
    const weightSpecs = groups.flatMap((g) => g.weights);
    const weightData: ArrayBuffer[] = [];
    const totalBytes = record.files.reduce((sum, f) => sum + f.size, 0);
    const report = this.options.onProgress;
    const weightPaths = new Set(groups.flatMap((g) => g.paths.map((p) => p.replace(/^\.\//, ''))));
    // model.json and the other small files count as read; the weights count as they are read.
    let readBytes = record.files.filter((f) => !weightPaths.has(f.path)).reduce((sum, f) => sum + f.size, 0);
    report?.({ phase: 'load', file: MODEL_JSON, loadedBytes: readBytes, totalBytes, percent: 0 });
    for (const path of groups.flatMap((g) => g.paths)) {
      const bytes = await this.store.readFile(this.model, this.version, path.replace(/^\.\//, ''));
      readBytes += bytes.byteLength;
      // Reading the files is most of it; building the graph model is the last tenth.
      report?.({ phase: 'load', file: path.replace(/^\.\//, ''), loadedBytes: Math.min(readBytes, totalBytes), totalBytes, percent: totalBytes > 0 ? Math.min(90, (90 * readBytes) / totalBytes) : 90 });
      // The store hands out fresh bytes; take their buffer as it is when the view covers it (no copy).
      const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      // `whole` checked it is an ArrayBuffer; slice() of either buffer kind gives one of the same kind, copied out.
      weightData.push(whole ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer));
    }
    const expected = expectedWeightBytes(weightSpecs);
    const got = weightData.reduce((s, b) => s + b.byteLength, 0);
    if (expected !== undefined && expected !== got) {
      throw new ServingError('DATA_LOSS', `${this.where}: the weight files hold ${got} bytes, but model.json's weightsManifest describes ${expected}`);
    }
    const topology = { ...json.modelTopology, versions: json.modelTopology?.versions ?? {} };
    // model.json's fields pass through as TF.js reads them (parseGraphModelJson checked the structure it needs).
    const artifacts: tf.io.ModelArtifacts = {
      modelTopology: topology,
      weightSpecs,
      weightData,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy ?? undefined,
      signature: json.signature as object | undefined,
      userDefinedMetadata: json.userDefinedMetadata as object | undefined,
      modelInitializer: json.modelInitializer as object | undefined,
      initializerSignature: json.initializerSignature as object | undefined,
    } as tf.io.ModelArtifacts;
    let graphModel: tf.GraphModel;
    try {
      graphModel = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    } catch (e) {
      throw ServingError.from(e, 'INVALID_ARGUMENT', `${this.where}: TF.js could not load the graph model: `);
    }
    report?.({ phase: 'load', loadedBytes: totalBytes, totalBytes, percent: 100 });
    const servable = new TfjsServable(
      graphModel,
      readSignatures(json, graphModel.inputs, graphModel.outputs),
      record.files.reduce((s, f) => s + f.size, 0),
    );
    let warmupMicros: number | undefined;
    let warmupRequests: number | undefined;
    try {
      if (this.options.warmup !== false) {
        const shipped = record.files.some((f) => f.path === WARMUP_FILE);
        const shapes = new Map(graphModel.inputs.map((t) => [t.name, t.shape]));
        const requests = shipped
          ? parseWarmupFile(new TextDecoder().decode(await this.store.readFile(this.model, this.version, WARMUP_FILE)))
          : synthesizeWarmupRequests(servable.signatures.values(), (name) => shapes.get(name.replace(/:\d+$/, '')));
        const warmupStart = performance.now();
        report?.({ phase: 'warmup', loadedBytes: totalBytes, totalBytes, percent: 0 });
        warmupRequests = await runWarmup(servable, requests, this.where, (done, all) =>
          report?.({ phase: 'warmup', loadedBytes: totalBytes, totalBytes, percent: (100 * done) / all }),
        );
        warmupMicros = micros(warmupStart);
      }
    } catch (e) {
      servable.dispose();
      throw e;
    }
    servable.loadTimings = { loadMicros: micros(startedAt), warmupMicros, warmupRequests };
    this.servable = servable;
    return servable;
  }

  async unload(): Promise<void> {
    this.servable?.dispose();
    this.servable = undefined;
  }
}

function micros(startMs: number): number {
  return Math.max(0, Math.round((performance.now() - startMs) * 1000));
}
