/** A servable stream's name and one of its versions: TF Serving's ServableId. */
export interface ServableId {
  readonly name: string;
  readonly version: number;
}

export function servableIdToString(id: ServableId): string {
  return `{name: ${id.name} version: ${id.version}}`;
}

/** True when `v` can be a version number: a non-negative safe integer (TF Serving's int64 ≥ 0). */
export function isValidVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
