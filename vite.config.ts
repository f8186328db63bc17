// The browser bundle: `dist/browser/tfjs-serving.js` (import it from a `<script type="module">`), the
// worker `dist/browser/tfjs-serving.worker.js` beside it, and TF.js's WASM binaries beside both —
// everything found relative to the module's URL, nothing fetched from a CDN.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const wasmDir = join(import.meta.dirname, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');

/** Emits the TF.js WASM binaries next to the bundle (not the threaded one: the library runs one thread per worker). */
function tfjsWasmBinaries(): Plugin {
  return {
    name: 'tfjs-serving:wasm-binaries',
    generateBundle() {
      for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm') && !f.includes('threaded'))) {
        this.emitFile({ type: 'asset', fileName: file, source: readFileSync(join(wasmDir, file)) });
      }
    },
  };
}

/**
 * The worker and the WASM binaries are referenced as `new URL('./file', import.meta.url)` with a
 * `@vite-ignore` comment, so this build leaves them alone (they are emitted as they are, beside the
 * entries). The comment is dropped from the output: an app that bundles `tfjs-serving/browser` (Vite,
 * webpack 5) then sees the plain pattern and bundles the worker and ships the binaries with it.
 */
const BUNDLER_VISIBLE = /new URL\(\s*\/\* @vite-ignore \*\/\s*("\.\/(?:tfjs-serving\.worker\.js|tfjs-backend-wasm(?:-simd)?\.wasm)")/g;

function bundlerVisibleReferences(): Plugin {
  let seen = 0;
  return {
    name: 'tfjs-serving:bundler-visible-references',
    renderChunk(code) {
      let found = 0;
      const out = code.replace(BUNDLER_VISIBLE, (_m, file: string) => {
        found++;
        return `new URL(${file}`;
      });
      seen += found;
      return found > 0 ? { code: out, map: null } : null;
    },
    generateBundle() {
      // The worker and both binaries: a refactor that loses one would break apps' bundles silently.
      if (seen < 3) this.error(`expected the worker and two WASM references to make visible to bundlers, found ${seen}`);
    },
  };
}

export default defineConfig({
  // Lib mode leaves process.env.NODE_ENV alone; workbox reads it (production: no dev asserts or logs).
  // __filename/__dirname: only TF.js's Node branches read them. Gone from the bundle, so an app's webpack (which
  // folds `typeof __filename` to "string" but defines no __filename in ES modules) cannot turn the guard
  // around TF.js's WASM loader into a ReferenceError.
  define: { __TFJS_SERVING_BUNDLED__: 'true', 'process.env.NODE_ENV': JSON.stringify('production'), __filename: 'undefined', __dirname: 'undefined' },
  build: {
    outDir: 'dist/browser',
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    // No source maps in the bundle: its chunks are mostly TF.js and workbox (a 13.5 MB map for one chunk),
    // which the package must not ship. The project's own code keeps its maps in dist/src (tsc).
    sourcemap: false,
    reportCompressedSize: false,
    lib: {
      entry: {
        'tfjs-serving': 'src/browser.ts',
        'tfjs-serving.worker': 'worker/tfjs-serving.worker.ts',
        'tfjs-serving.sw': 'worker/tfjs-serving.sw.ts',
        // For apps that write their own Service Worker: `registerModelServerRoute` to import in it.
        'tfjs-serving.sw-route': 'src/rest/service-worker-route.ts',
      },
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
    rollupOptions: {
      // Chunks sit beside the entries, so `new URL('./…', import.meta.url)` finds the worker and the
      // WASM binaries from any of them.
      output: { chunkFileNames: '[name]-[hash].js' },
    },
  },
  plugins: [tfjsWasmBinaries(), bundlerVisibleReferences()],
});
