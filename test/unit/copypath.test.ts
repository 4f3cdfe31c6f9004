// Docker's copy path rules (moby/go-archive copy.go) as berth implements them for cp and the archive API.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  GoMode,
  assertsDirectory,
  getRebaseName,
  goBase,
  goClean,
  goFileMode,
  goModeHas,
  nameRebaser,
  preserveTrailingDotOrSeparator,
  splitPathDirEntry,
} from '../../src/lib/copypath.js';

describe('copy path rules', () => {
  it('cleans and takes base names as Go does', () => {
    assert.equal(goClean('/a/b/'), '/a/b');
    assert.equal(goClean(''), '.');
    assert.equal(goClean('/'), '/');
    assert.equal(goBase('/'), '/');
    assert.equal(goBase('/etc/.'), '.');
    assert.equal(goBase('/etc/'), 'etc');
  });

  it('keeps a trailing "/." or "/"', () => {
    assert.equal(preserveTrailingDotOrSeparator('/etc', '/etc/.'), '/etc/.');
    assert.equal(preserveTrailingDotOrSeparator('/etc', 'etc/'), '/etc/');
    assert.equal(preserveTrailingDotOrSeparator('/', '/'), '/');
    assert.equal(preserveTrailingDotOrSeparator('/etc', 'etc'), '/etc');
    assert.ok(assertsDirectory('/x/') && assertsDirectory('/x/.') && !assertsDirectory('/x'));
  });

  it('splits a path into directory and entry, "." kept', () => {
    assert.deepEqual(splitPathDirEntry('/a/b'), { dir: '/a', base: 'b' });
    assert.deepEqual(splitPathDirEntry('/a/b/'), { dir: '/a', base: 'b' });
    assert.deepEqual(splitPathDirEntry('/a/b/.'), { dir: '/a/b', base: '.' });
    assert.deepEqual(splitPathDirEntry('/'), { dir: '/', base: '/' });
  });

  it('names the rebase when following a link changed the last element', () => {
    assert.deepEqual(getRebaseName('/data/link', '/etc/passwd'), { resolved: '/etc/passwd', rebaseName: 'link' });
    assert.deepEqual(getRebaseName('/data/dir/', '/srv/real'), { resolved: '/srv/real/', rebaseName: 'dir' });
    assert.deepEqual(getRebaseName('/data/x', '/other/x'), { resolved: '/other/x', rebaseName: '' });
  });

  it('rebases archive entry names on whole elements only', () => {
    const r = nameRebaser('data', 'copy');
    assert.equal(r('data'), 'copy');
    assert.equal(r('data/'), 'copy/');
    assert.equal(r('data/f'), 'copy/f');
    assert.equal(r('database/f'), 'database/f');
    assert.equal(nameRebaser('/', 'root')('/etc/x'), 'root/etc/x');
    assert.equal(nameRebaser('.', 'dst')('./f'), 'dst/f');
  });

  it('encodes Go file modes', () => {
    assert.equal(goFileMode(0o040755), GoMode.Dir + 0o755);
    assert.equal(goFileMode(0o120777), GoMode.Symlink + 0o777);
    assert.equal(goFileMode(0o104755), GoMode.Setuid + 0o755);
    assert.equal(goFileMode(0o020600), GoMode.Device + GoMode.CharDevice + 0o600);
    assert.ok(goModeHas(goFileMode(0o041777), GoMode.Sticky));
    assert.ok(!goModeHas(goFileMode(0o100644), GoMode.Dir));
  });
});
