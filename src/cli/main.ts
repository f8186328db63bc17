import { readFile } from 'node:fs/promises';
import { ServingError, messageOf } from '../core/status.js';
import { publishGraphModel } from '../repository/publish.js';
import { SERVE_USAGE, serve } from './serve.js';
import { CONVERTER_FLAGS, checkFlagNames, packageVersion, parseFlags } from './flags.js';
import type { FlagSpec } from './flags.js';
import type { CliIo } from './cli-io.js';

export type { CliIo };

const USAGE = `tfjs-serving: TF Serving for TensorFlow.js

Usage:
  tfjs-serving publish <tfjs_graph_model_dir | model.json | saved_model_dir> <repository_dir>/<model_name> [--version N] [--signing_key FILE]
  tfjs-serving publish <…> s3://<bucket>/<prefix>/<model_name> [--version N] [--signing_key FILE]   (AWS_* / S3_ENDPOINT variables)
      Adds the model as a new version (default: highest + 1) and rewrites manifest.json last.
      A SavedModel is converted first, with every serving signature (predict, classify, regress).
  tfjs-serving convert <saved_model_dir> <output_dir> [options]     SavedModel → TF.js graph model
  tfjs-serving show --dir <saved_model_dir> [--tag_set serve] [--signature_def NAME] [--all]
  tfjs-serving run --dir <saved_model_dir> --signature_def NAME --inputs ... | --input_exprs ...
${SERVE_USAGE}  tfjs-serving <command> --help       the command's flags
  tfjs-serving --version             the package's version
`;

const PUBLISH_USAGE = `Usage:
  tfjs-serving publish <tfjs_graph_model_dir | model.json | saved_model_dir> <repository_dir>/<model_name> [--version N]
      Adds the model as a new version of <model_name> in the repository: the version's files first (through
      a temporary directory and one rename), manifest.json last. A SavedModel is converted first, with every
      serving signature (predict, classify, regress).
  --version=N          the version number (default: the highest published + 1, or 1)
  --signing_key=FILE   sign the manifest with this Ed25519 private key (PKCS#8 PEM, e.g. from
                       \`openssl genpkey -algorithm ed25519\`); repeat it to sign with several keys (rotation)
  --shard_by_weight    one shard file per weight, named by the weight: an unchanged layer keeps its bytes
                       across versions, so clients download only the weights that changed (default true;
                       --noshard_by_weight publishes the model's shards unchanged)
`;

const PUBLISH_FLAGS: readonly FlagSpec[] = [
  { name: 'version', kind: 'int', min: 0, help: 'the version number' },
  { name: 'signing_key', kind: 'string', repeatable: true, help: 'an Ed25519 private key (PKCS#8 PEM) that signs the manifest' },
  { name: 'shard_by_weight', kind: 'bool', help: 'one shard file per weight, stable across versions (default true)' },
];

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
        if (rest.some((a) => a === '--help' || a === '-h')) return await runConverterCli(command, ['--help'], io);
        checkFlagNames(rest, CONVERTER_FLAGS[command], command);
        return await runConverterCli(command, rest, io);
      }
      case '--version':
      case '-v':
      case 'version':
        io.stdout(`${packageVersion()}\n`);
        return 0;
      case 'help':
        if (rest[0] && rest[0] !== 'help') return await main([rest[0], '--help'], io);
        io.stdout(USAGE);
        return 0;
      case undefined:
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
  const parsed = parseFlags(args, PUBLISH_FLAGS, { command: 'publish', positional: true });
  if (parsed.help) return io.stdout(PUBLISH_USAGE), 0;
  const { positional } = parsed;
  if (positional.length !== 2) {
    throw new ServingError('INVALID_ARGUMENT', `publish needs <tfjs_graph_model_dir> <repository_dir>/<model_name> (or s3://<bucket>/<prefix>/<model_name>), got ${positional.length} argument(s)`);
  }
  const version = parsed.flags.version === undefined ? undefined : Number(parsed.flags.version);
  const signingKeys: string[] = [];
  for (const file of parsed.lists.signing_key ?? []) {
    signingKeys.push(
      await readFile(file, 'utf8').catch((e: unknown) => {
        throw new ServingError('NOT_FOUND', `--signing_key ${file} cannot be read: ${messageOf(e)}`);
      }),
    );
  }
  const result = await publishGraphModel(positional[0]!, positional[1]!, { version, log: (l) => io.stderr(l + '\n'), ...(signingKeys.length ? { signingKeys } : {}), shardByWeight: parsed.flags.shard_by_weight !== 'false' });
  io.stdout(JSON.stringify({ model: result.model, version: result.version, manifest: result.manifestPath }) + '\n');
  return 0;
}

function defaultIo(): CliIo {
  return { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
}
