// Messages between the Service Worker route and the page that answers REST requests with its
// ModelServer. Types only.

/** Service Worker → page: a REST request to answer, with a MessagePort for the answer. */
export interface RestRequestMessage {
  readonly type: 'tfjs-serving:rest-request';
  readonly url: string;
  readonly method: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: ArrayBuffer | null;
}

/** Page → Service Worker (on the port): the response. */
export interface RestResponseMessage {
  readonly type: 'tfjs-serving:rest-response';
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: ArrayBuffer;
}
