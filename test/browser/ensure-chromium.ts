// Run before the test suite (npm's pretest): installs Debian's chromium when it is missing.
import { ensureChromium } from './harness.js';

console.log(`chromium: ${await ensureChromium()}`);
