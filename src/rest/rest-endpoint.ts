// How a ModelServer answers TF Serving REST requests handed to it whole (the Service Worker route):
// here with handleRestRequest, or the server's own way when it registered one (a worker client
// answers in its worker, next to the servables and off the page's thread).
import type { ModelServer } from '../server/model-server.js';
import type { RestOptions } from './handler.js';
import { handleRestRequest } from './handler.js';

/** Answers one REST request. */
export type RestEndpoint = (request: Request, options?: RestOptions) => Promise<Response>;

const endpoints = new WeakMap<ModelServer, RestEndpoint>();

/** Registers how `server` answers REST requests (instead of handleRestRequest in this realm). */
export function setRestEndpoint(server: ModelServer, endpoint: RestEndpoint): void {
  endpoints.set(server, endpoint);
}

/** How `server` answers a REST request: its registered endpoint, else handleRestRequest here. */
export function restEndpointOf(server: ModelServer): RestEndpoint {
  return endpoints.get(server) ?? ((request, options) => handleRestRequest(server, request, options));
}
