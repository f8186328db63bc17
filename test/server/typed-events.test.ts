// The event map types listeners by event name under `tsc --strict`, with no casts: a page's code as
// README shows it compiles, and a listener that reads a field its event does not have does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** Type-checks `code` as a module in test/server/ with the project's strict options; returns the errors. */
function typeErrors(code: string): string[] {
  const file = join(root, 'test', 'server', '__typed_events_snippet.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (f === file ? code : readFile(f));
  host.fileExists = (f) => f === file || fileExists(f);
  host.getSourceFile = (f, lang, ...rest) => (f === file ? ts.createSourceFile(f, code, lang) : getSourceFile(f, lang, ...rest));
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

test('addEventListener, removeEventListener and the listeners option are typed by event name (tsc --strict, no casts)', { timeout: 120_000 }, () => {
  const good = `
import { ModelServer } from '../../src/browser.js';
import type { DownloadProgressEvent, ModelServerEventMap, PredictResponse } from '../../src/browser.js';
export async function main(): Promise<number> {
  const seen: string[] = [];
  const server = await ModelServer.start({
    modelConfigList: [{ name: 'emotion', basePath: 'models/emotion' }],
    listeners: {
      progress: (e) => seen.push(\`\${e.model} v\${e.version} \${e.phase} \${e.file ?? ''} \${e.percent.toFixed(0)}%\`),
      totalprogress: (e) => seen.push(\`\${e.done}/\${e.versions.length} \${e.loadedBytes}/\${e.totalBytes}\`),
      available: (e) => seen.push(\`v\${e.version} \${e.state}\`),
    },
  });
  const onProgress = (e: DownloadProgressEvent) => e.loadedBytes;
  server.addEventListener('progress', onProgress);
  server.addEventListener('progress', (e) => e.loadedBytes / e.totalBytes);
  server.addEventListener('sourceerror', (e) => console.warn(e.model, e.code, e.message));
  server.addEventListener('workerrestart', (e) => console.warn(e.reason));
  server.addEventListener('statechange', (e) => e.previousState);
  server.removeEventListener('progress', onProgress);
  const controller = new AbortController();
  const r: PredictResponse = await server.predict({ model: 'emotion', inputs: new Float32Array(4) }, { signal: controller.signal, timeoutMs: 100 });
  const stateOf: ModelServerEventMap['available']['state'] = 'AVAILABLE';
  return (r.output?.shape.length ?? 0) + seen.length + stateOf.length;
}
`;
  assert.deepEqual(typeErrors(good), []);

  const bad = `
import { ModelServer } from '../../src/browser.js';
export async function main(): Promise<void> {
  const server = await ModelServer.start({
    modelConfigList: [{ name: 'm', basePath: 'models/m' }],
    listeners: { progress: (e) => e.state },
  });
  server.addEventListener('sourceerror', (e) => e.loadedBytes);
}
`;
  const errors = typeErrors(bad);
  assert.equal(errors.length, 2, errors.join('\n'));
  assert.match(errors[0]!, /Property 'state' does not exist on type 'DownloadProgressEvent'/);
  assert.match(errors[1]!, /Property 'loadedBytes' does not exist on type 'SourceErrorEvent'/);
});
