// Which Source polls a model's basePath. URLs go to the HttpSource; Node registers the file-system
// source for local directories (`tfjs-serving/node`), so browser bundles never carry it.
import type { Servable } from '../runtime/servable.js';
import { HttpSource } from '../sources/http-source.js';
import type { ModelSource } from '../sources/model-source.js';
import type { StoreImportingSourceOptions } from '../sources/store-importing-source.js';
import type { StoreCoordinator } from '../sources/tab-coordinator.js';

/** What a server hands a source factory for one model. */
export interface SourceFactoryOptions extends StoreImportingSourceOptions<Servable> {
  readonly requestTimeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly coordinator?: StoreCoordinator;
  /** Only manifests signed by one of these keys are accepted (manifest repositories). */
  readonly trustedPublicKeys?: readonly string[];
}

/** Makes the Source of the models whose basePath it handles. */
export interface SourceFactory {
  readonly name: string;
  handles(basePath: string): boolean;
  create(options: SourceFactoryOptions): ModelSource<Servable>;
}

/** The HttpSource, for every basePath no other factory claims. */
export const httpSourceFactory: SourceFactory = {
  name: 'http',
  handles: () => true,
  create: (options) => new HttpSource<Servable>(options),
};

const factories: SourceFactory[] = [];

/** Adds a source factory; the latest registered is asked first. Registering the same one again does nothing. */
export function registerSourceFactory(factory: SourceFactory): void {
  if (!factories.includes(factory)) factories.unshift(factory);
}

/** The factory for a basePath: the first registered one that handles it, else the HTTP source. */
export function sourceFactoryFor(basePath: string): SourceFactory {
  return factories.find((f) => f.handles(basePath)) ?? httpSourceFactory;
}
