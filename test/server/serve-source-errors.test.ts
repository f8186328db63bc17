// `serve` says what failed: a model directory that does not exist is printed once per distinct error
// (not once per poll), in process, with the CLI's own flag parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServeFlags, startServe } from '../../src/cli/serve.js';

test('serve prints each distinct source error once, not once per poll', async () => {
  const lines: string[] = [];
  const io = { stdout: (s: string) => lines.push(s), stderr: (s: string) => lines.push(s) };
  const dir = '/nonexistent/tfjs-serving-serve-test/ghost';
  const handle = await startServe(parseServeFlags(['--model_name', 'ghost', '--model_base_path', dir, '--rest_api_port', '0', '--rest_api_host', '127.0.0.1', '--backend', 'cpu', '--file_system_poll_wait_seconds', '0']), io);
  try {
    await handle.server.pollNow('ghost');
    await handle.server.pollNow('ghost');
    const said = lines.filter((l) => l.startsWith('Model ghost: its source reports'));
    assert.equal(said.length, 1, lines.join(''));
    assert.match(said[0]!, /^Model ghost: its source reports NOT_FOUND: .*\/nonexistent\/tfjs-serving-serve-test\/ghost/);
  } finally {
    await handle.shutdown();
  }
});
