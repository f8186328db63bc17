#!/usr/bin/env node
// The CLI entry: runs the built code in dist/ (npm run build).
import '../dist/src/cli/bin.js';
