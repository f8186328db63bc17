/**
 * Stand-alone entry for the converter CLI:
 *   node --import tsx converter/cli-main.ts convert|show|run ...
 * (The package's own `tfjs-serving` binary calls `runConverterCli` too.)
 */
import { runConverterCli } from './cli.js';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'convert' && command !== 'show' && command !== 'run') {
  process.stderr.write('usage: cli-main.ts convert|show|run [args...]  (--help for a command\'s flags)\n');
  process.exit(2);
}
const code = await runConverterCli(command, rest, {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
});
process.exitCode = code;
