// `berth scan`'s bad inputs that the CLI refuses before asking the daemon anything: a wrong --format,
// --severity or --exit-code, an unreadable ignore file or --input, a malformed ignore file, no image.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function berth(args: string[], cwd?: string): { code: number; stdout: string; stderr: string } {
  // A socket nobody listens on: any request would fail with "Cannot connect", which these must not reach.
  const r = spawnSync(process.execPath, [CLI, '-H', 'unix:///nonexistent/berth.sock', ...args], { encoding: 'utf8', cwd, env: { ...process.env, BERTH_API_VERSION: '1.44' } });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('berth scan refuses bad input before contacting the daemon', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scan-cli-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[], RegExp][] = [
    ['an unknown format', ['scan', '--format', 'xml', 'app:1'], /^invalid --format "xml": use table, json, sarif, cyclonedx$/m],
    ['an unknown severity', ['scan', '--severity', 'HIGH,SEVERE', 'app:1'], /^invalid severity "SEVERE": use a comma-separated list of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL$/m],
    ['an exit code out of range', ['scan', '--exit-code', '300', 'app:1'], /^invalid --exit-code 300: use 0 to 255$/m],
    ['an ignore file that cannot be read', ['scan', '--ignorefile', path.join(dir, 'missing'), 'app:1'], /^cannot read ignore file .*missing: ENOENT$/m],
    ['an --input that cannot be read', ['scan', '--input', path.join(dir, 'nope.tar')], /^cannot read --input .*nope\.tar: ENOENT/m],
    ['neither an image nor --input', ['scan'], /requires an IMAGE argument or --input FILE/],
    ['both an image and --input', ['scan', '--input', '/etc/hostname', 'app:1'], /either an IMAGE or --input FILE, not both/],
    ['an unknown image source', ['scan', '--image-src', 'docker', 'app:1'], /invalid --image-src "docker": use local, remote or local,remote/],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const r = berth(args, dir);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /Cannot connect|TypeError/);
    });
  }

  it('a malformed default .berthignore is named with its line', () => {
    const cwd = mkdtempSync(path.join(dir, 'cwd-'));
    writeFileSync(path.join(cwd, '.berthignore'), '# ok\nCVE-2024-1 exp:tomorrow\n');
    const r = berth(['scan', 'app:1'], cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^\.berthignore:2: invalid expiry "exp:tomorrow": write exp:YYYY-MM-DD$/m);
  });
});
