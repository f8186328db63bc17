// A model in an S3 bucket (`s3://bucket/prefix`), for Node: this project's manifest layout or TF
// Serving's numeric version prefixes, picked per model.
import type { CanarySplit } from '../core/canary.js';
import type { AspiredVersionsCallback } from '../core/source.js';
import { ServingError } from '../core/status.js';
import type { S3Connection, S3Environment } from '../repository/s3-client.js';
import type { S3Location } from '../repository/s3-location.js';
import { parseS3Url } from '../repository/s3-location.js';
import type { ModelSource, SourceState } from './model-source.js';
import type { S3LayoutOptions } from './s3-layouts.js';

export interface S3SourceOptions<T> extends S3LayoutOptions<T> {
  /** `s3://bucket/prefix`: the model's prefix. */
  readonly basePath: string;
  /** Where the S3 settings are read (AWS_ACCESS_KEY_ID, AWS_REGION, S3_ENDPOINT, …). Default: process.env. */
  readonly env?: S3Environment;
}

/**
 * The Source of a model in a bucket. A `manifest.json` at the prefix means this project's manifest
 * layout, read by the HttpSource over signed GetObjects (conditional on the ETag, each file verified by
 * size and SHA-256); without one, TF Serving's layout is listed (S3ListingSource: numeric version
 * prefixes holding SavedModels or TF.js graph models). Each poll of the listing looks for the
 * manifest, so a prefix that gets one switches layout; with `trustedPublicKeys` only the (signed)
 * manifest layout is read. Credentials, region and endpoint come from the
 * AWS environment variables (repository/s3-client.ts); the AWS SDK is loaded when the source starts.
 */
export class S3Source<T> implements ModelSource<T> {
  private readonly location: S3Location;
  private current: ModelSource<T> | undefined;
  private connection: S3Connection | undefined;
  private callback: AspiredVersionsCallback<T> | undefined;
  private switching: Promise<void> | undefined;
  private stopped = false;
  private layoutName: 'manifest' | 'listing' | undefined;

  constructor(private readonly options: S3SourceOptions<T>) {
    this.location = parseS3Url(options.basePath);
  }

  get name(): string {
    return this.options.name;
  }

  /** The layout in use: undefined before the start. */
  get layout(): 'manifest' | 'listing' | undefined {
    return this.layoutName;
  }

  setAspiredVersionsCallback(callback: AspiredVersionsCallback<T>): void {
    this.callback = callback;
    this.current?.setAspiredVersionsCallback(callback);
  }

  async start(): Promise<void> {
    const layouts = await import('./s3-layouts.js');
    if (this.stopped) return;
    const connection = layouts.createS3Connection(this.options.env);
    this.connection = connection;
    if (this.options.trustedPublicKeys?.length) {
      // Signed manifests only: TF Serving's layout has nothing to verify, so it is never listed.
      const manifest = layouts.manifestLayoutSource(this.options, connection);
      this.layoutName = 'manifest';
      this.current = manifest;
      if (this.callback) manifest.setAspiredVersionsCallback(this.callback);
      await manifest.start();
      return;
    }
    // The listing finds out which layout the prefix has: the manifest layout takes over when it sees one.
    const listing = layouts.listingLayoutSource(this.options, connection, this.location, () => {
      this.switching = this.use(layouts.manifestLayoutSource(this.options, connection), listing, 'manifest');
    });
    this.layoutName = 'listing';
    this.current = listing;
    if (this.callback) listing.setAspiredVersionsCallback(this.callback);
    await listing.start();
    await this.switching;
  }

  async pollNow(): Promise<void> {
    await this.switching;
    await this.current?.pollNow();
    await this.switching; // the poll found a manifest: the manifest layout's first poll is part of this one
  }

  state(): SourceState {
    if (this.current) return this.current.state();
    return {
      name: this.name,
      basePath: this.options.basePath,
      publishedVersions: undefined,
      storedVersions: [],
      aspiredVersions: [],
      lastPollTime: undefined,
      lastError: undefined,
      consecutiveFailures: 0,
      nextPollDelayMs: undefined,
    };
  }

  wantedVersions(): ReadonlySet<number> {
    return this.current?.wantedVersions() ?? new Set();
  }
  canarySplit(): CanarySplit | undefined {
    return this.current?.canarySplit?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.switching?.catch(() => undefined);
    await this.current?.stop();
    this.connection?.client.destroy();
  }

  /** Replaces `previous` (which stopped itself) by `next`, and starts it. */
  private async use(next: ModelSource<T>, previous: ModelSource<T>, layout: 'manifest' | 'listing'): Promise<void> {
    await previous.stop();
    if (this.stopped) return;
    this.current = next;
    this.layoutName = layout;
    if (this.callback) next.setAspiredVersionsCallback(this.callback);
    try {
      await next.start();
    } catch (e) {
      throw ServingError.from(e, 'UNKNOWN', `starting the manifest layout of ${this.name}: `);
    }
  }
}
