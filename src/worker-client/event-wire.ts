// One wire codec per server event: what crosses the worker boundary, and the events it becomes again.
import type { DownloadProgressEventInit, LoadFailureEventInit, SourceErrorEventInit, TotalProgressEventInit, VersionStateEventInit } from '../server/version-state-event.js';
import { DownloadProgressEvent, LoadFailureEvent, SourceErrorEvent, TotalProgressEvent, VersionStateEvent } from '../server/version-state-event.js';

/** A server event as plain data. */
export type WireEvent =
  | { readonly type: 'statechange'; readonly init: VersionStateEventInit }
  | { readonly type: 'progress'; readonly init: DownloadProgressEventInit }
  | { readonly type: 'totalprogress'; readonly init: TotalProgressEventInit }
  | { readonly type: 'sourceerror'; readonly init: SourceErrorEventInit }
  | { readonly type: 'loadfailure'; readonly init: LoadFailureEventInit };

/** The event types that cross the boundary (`start`, `available`, … are re-derived from `statechange`). */
export const WIRE_EVENT_TYPES = ['statechange', 'progress', 'totalprogress', 'sourceerror', 'loadfailure'] as const;

/** Encodes an event the worker's server fired, or undefined for one that does not cross. */
export function encodeEvent(e: Event): WireEvent | undefined {
  if (e instanceof VersionStateEvent && e.type === 'statechange') return { type: 'statechange', init: e.toInit() };
  if (e instanceof DownloadProgressEvent) return { type: 'progress', init: e.toInit() };
  if (e instanceof TotalProgressEvent) return { type: 'totalprogress', init: e.toInit() };
  if (e instanceof SourceErrorEvent) return { type: 'sourceerror', init: e.toInit() };
  if (e instanceof LoadFailureEvent) return { type: 'loadfailure', init: e.toInit() };
  return undefined;
}

/** The events one wire event stands for on the page (a state change also fires as its state's own name). */
export function decodeEvent(wire: WireEvent): Event[] {
  switch (wire.type) {
    case 'statechange':
      return ['statechange', wire.init.state.toLowerCase()].map((type) => new VersionStateEvent(type, wire.init));
    case 'progress':
      return [new DownloadProgressEvent(wire.init)];
    case 'totalprogress':
      return [new TotalProgressEvent(wire.init)];
    case 'sourceerror':
      return [new SourceErrorEvent(wire.init)];
    case 'loadfailure':
      return [new LoadFailureEvent(wire.init)];
  }
}
