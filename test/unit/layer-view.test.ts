// Layer dirs seen merged as overlayfs shows them (LayerView): the topmost entry wins, a whiteout deletes,
// an opaque directory hides what lies below it, a symlink on the way is not followed; and an entry the
// topmost layer has is answered without that layer's opaque list (a layer being hashed knows it late).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LayerView } from '../../src/engine/snapshots/diff.js';

describe('LayerView', () => {
  let tmp: string;
  let top: string;
  let low: string;
  const write = async (dir: string, rel: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  };
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'layer-view-'));
    [top, low] = [path.join(tmp, 'top'), path.join(tmp, 'low')];
    await write(low, 'etc/passwd', 'low');
    await write(low, 'etc/group', 'low');
    await write(low, 'opq/old', 'low');
    await write(low, 'tmp/kept', 'low');
    await write(low, 'real/f', 'low');
    await write(top, 'etc/passwd', 'top');
    await write(top, 'opq/new', 'top');
    await write(top, 'tmp/a.sum', 'top');
    await fs.symlink('real', path.join(top, 'link'));
    // A whiteout: a 0:0 character device (overlayfs's own form).
    execFileSync('mknod', [path.join(top, 'etc/group'), 'c', '0', '0']);
  });
  after(() => fs.rm(tmp, { recursive: true, force: true }));

  const view = (opaque: Record<string, string[]> = {}) => new LayerView([top, low], async (d) => new Set(opaque[d] ?? []));

  it('answers the topmost entry, hides a whiteout, merges directories', async () => {
    const v = view();
    assert.equal((await v.locate('/etc/passwd'))?.dir, top);
    assert.equal(await v.locate('/etc/group'), undefined);
    assert.equal((await v.locate('/tmp/kept'))?.dir, low);
    assert.deepEqual(await v.readdir('/opq'), ['new', 'old']);
    assert.equal(await v.locate('/nothing/here'), undefined);
  });

  it('an opaque directory hides the layers below it', async () => {
    const v = view({ [top]: ['opq'] });
    assert.deepEqual(await v.readdir('/opq'), ['new']);
    assert.equal(await v.locate('/opq/old'), undefined);
    assert.equal((await v.locate('/opq/new'))?.dir, top);
  });

  it('does not follow a symlink on the way', async () => {
    assert.equal(await view().locate('/link/f'), undefined);
    assert.equal((await view().locate('/link'))?.st.isSymbolicLink(), true);
  });

  it('answers what the topmost layer has without waiting for its opaque list', async () => {
    const never = new Promise<Set<string>>(() => undefined);
    const v = new LayerView([top, low], (d) => (d === top ? never : Promise.resolve(new Set<string>())));
    assert.equal((await v.locate('/tmp/a.sum'))?.dir, top);
    assert.equal(await v.locate('/etc/group'), undefined);
  });
});
