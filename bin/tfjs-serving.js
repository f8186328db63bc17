#!/usr/bin/env node
// The CLI entry: runs the built code in dist/ (`npm run build`; `prepare` builds it when the package is
// installed from a git URL or a directory, and the npm tarball ships it).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    `tfjs-serving: ${entry.pathname} is missing: this copy of the package was not built.\n` +
      `Run \`npm run build\` in ${new URL('..', import.meta.url).pathname} (it needs the devDependencies: \`npm install\` there first).\n`,
  );
  process.exit(1);
}
await import(entry.href);
