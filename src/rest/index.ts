// TF Serving's REST API over Fetch API Request/Response (browser, Service Worker, Node).
export { handleRestRequest, httpStatusOf, DEFAULT_PROMETHEUS_PATH } from './handler.js';
export type { RestOptions } from './handler.js';
export { parseRestPath } from './url.js';
export type { RestRoute } from './url.js';
export { parseJson, formatDecimal } from './json.js';
