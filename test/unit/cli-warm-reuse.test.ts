// Which commands a warm CLI child may serve after another (src/cli/warm/reuse.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mayReuse } from '../../src/cli/warm/reuse.js';

describe('warm CLI child reuse', () => {
  it('allows read-only commands, build and run, with global flags before them', () => {
    for (const argv of [[], ['--version'], ['ps'], ['-H', 'unix:///x', 'ps', '-a'], ['images'], ['inspect', 'c'], ['version'], ['logs', '--tail', '10', 'c'], ['container', 'ls'], ['image', 'inspect', 'i'], ['--log-level', 'debug', 'system', 'df'], ['build', '-t', 'x', '.'], ['image', 'build', '.'], ['builder', 'build', '.'], ['run', '--rm', 'busybox', 'true'], ['ps', '-f', 'status=exited'], ['sbom', 'debian'], ['scan', '--severity', 'HIGH', 'app']]) {
      assert.equal(mayReuse(argv), true, argv.join(' '));
    }
  });
  it('allows compose commands that end once the engine answered, past compose\'s own flags', () => {
    for (const argv of [['compose', 'up', '-d'], ['compose', 'up', '--wait'], ['compose', '-f', 'a.yaml', '-p', 'x', 'up', '-d'], ['compose', 'down'], ['compose', 'ps'], ['compose', 'config', '-q'], ['-H', 'unix:///x', 'compose', 'ls']]) {
      assert.equal(mayReuse(argv), true, argv.join(' '));
    }
    for (const argv of [['compose', 'up'], ['compose', 'logs', '-f'], ['compose', 'run', 'web'], ['compose', 'exec', 'web', 'sh'], ['compose', 'watch'], ['compose', '-f', 'up', 'logs'], ['compose', 'events']]) {
      assert.equal(mayReuse(argv), false, argv.join(' '));
    }
  });
  it('allows the changes that are one request each (the child checks afterwards that no stdin was read)', () => {
    for (const argv of [['rm', '-f', 'c'], ['container', 'rm', 'c'], ['rmi', 'i'], ['image', 'rm', 'i'], ['tag', 'a', 'b'], ['stop', 'c'], ['start', 'c'], ['create', 'busybox'], ['builder', 'prune', '-f'], ['image', 'prune'], ['network', 'create', 'n'], ['volume', 'rm', 'v'], ['system', 'prune', '-f']]) {
      assert.equal(mayReuse(argv), true, argv.join(' '));
    }
  });
  it('refuses everything else, and logs that follow', () => {
    for (const argv of [['exec', 'c', 'sh'], ['logs', '-f', 'c'], ['container', 'logs', '-f', 'c'], ['logs', '--follow', 'c'], ['logs', '-tf', 'c'], ['attach', 'c'], ['events'], ['stats'], ['cp', 'c:/a', '-'], ['load'], ['save', 'i'], ['login'], ['image', 'load'], ['-H', 'ps', 'exec']]) {
      assert.equal(mayReuse(argv), false, argv.join(' '));
    }
  });
});
