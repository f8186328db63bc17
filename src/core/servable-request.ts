/**
 * Which version of a stream a request wants (TF Serving's ServableRequest): a specific version, or the
 * latest (highest) AVAILABLE one when `version` is undefined.
 */
export interface ServableRequest {
  readonly name: string;
  readonly version?: number;
}

export function describeRequest(r: ServableRequest): string {
  return r.version === undefined ? `Latest(${r.name})` : `Specific(${r.name}, ${r.version})`;
}
