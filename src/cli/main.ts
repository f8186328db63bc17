import { ServingError } from '../core/status.js';
import { publishGraphModel } from '../repository/publish.js';
import { SERVE_USAGE, serve } from './serve.js';
import type { CliIo } from './cli-io.js';

export type { CliIo };

const USAGE = `tfjs-serving: TF Serving for TensorFlow.js

Usage:
  tfjs-serving publish <tfjs_graph_model_dir | model.json | saved_model_dir> <repository_dir>/<model_name> [--version N]
  tfjs-serving publish <…> s3://<bucket>/<prefix>/<model_name> [--version N]      (AWS_* / S3_ENDPOINT variables)
      Adds the model as a new version (default: highest + 1) and rewrites manifest.json last.
      A SavedModel is converted first, with every serving signature (predict, classify, regress).
  tfjs-serving convert <saved_model_dir> <output_dir> [options]     SavedModel → TF.js graph model
  tfjs-serving show --dir <saved_model_dir> [--tag_set serve] [--signature_def NAME] [--all]
  tfjs-serving run --dir <saved_model_dir> --signature_def NAME --inputs ... | --input_exprs ...
${SERVE_USAGE}  tfjs-serving help
`;

/** Runs one CLI command; returns the process exit code. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'publish':
        return await publish(rest, io);
      case 'serve':
        return await serve(rest, io);
      case 'convert':
      case 'show':
      case 'run': {
        const { runConverterCli } = await import('../../converter/cli.js');
        return await runConverterCli(command, rest, io);
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.stderr(`tfjs-serving: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    const err = ServingError.from(e);
    io.stderr(`tfjs-serving ${command}: ${err.code}: ${err.message}\n`);
    return 1;
  }
}

async function publish(args: string[], io: CliIo): Promise<number> {
  const positional: string[] = [];
  let version: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--version' || a.startsWith('--version=')) {
      const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[++i];
      if (value === undefined || !/^\d+$/.test(value)) throw new ServingError('INVALID_ARGUMENT', `--version needs a non-negative integer, got ${JSON.stringify(value)}`);
      version = Number(value);
    } else if (a.startsWith('--')) {
      throw new ServingError('INVALID_ARGUMENT', `unknown option ${a} (publish takes --version N)`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length !== 2) {
    throw new ServingError('INVALID_ARGUMENT', `publish needs <tfjs_graph_model_dir> <repository_dir>/<model_name> (or s3://<bucket>/<prefix>/<model_name>), got ${positional.length} argument(s)`);
  }
  const result = await publishGraphModel(positional[0]!, positional[1]!, { version, log: (l) => io.stderr(l + '\n') });
  io.stdout(JSON.stringify({ model: result.model, version: result.version, manifest: result.manifestPath }) + '\n');
  return 0;
}

function defaultIo(): CliIo {
  return { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
}
