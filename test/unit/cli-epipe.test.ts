// `berth … | head`: when the reader of stdout goes away the CLI ends quietly with SIGPIPE's status
// (141), as the docker CLI does, instead of Node's "Unhandled 'error' event" trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

test('a closed stdout pipe ends the command with 141 and nothing on stderr', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-epipe-'));
  try {
    // `compose config` needs no engine; 3,000 services are far more than a pipe's buffer.
    const services = Array.from({ length: 3000 }, (_, i) => `  s${i}:\n    image: busybox\n    command: ["echo", "service ${i} and some text to fill the pipe"]\n`);
    await fs.writeFile(path.join(dir, 'compose.yaml'), `services:\n${services.join('')}`);
    const bash = spawnSync('bash', ['-c', `"${process.execPath}" "${MAIN}" compose config 2>"${dir}/err" | head -1; echo "\${PIPESTATUS[0]}"`], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(bash.stdout.split('\n').slice(0, 2), ['name: berth-epipe-' + path.basename(dir).slice('berth-epipe-'.length).toLowerCase(), '141']);
    assert.equal(await fs.readFile(path.join(dir, 'err'), 'utf8'), '');
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
