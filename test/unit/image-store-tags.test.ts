// The image store's tags: concurrent tag changes (parallel `berth tag`, a push recording while another
// tag is made) all land, in memory and on disk.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageStore } from '../../src/engine/images/store.js';

it('concurrent setTags calls lose no tag', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'image-store-'));
  try {
    const store = new ImageStore(root);
    await store.load();
    const id = 'sha256:' + 'a'.repeat(64);
    await Promise.all(Array.from({ length: 16 }, (_, i) => store.setTags({ [`docker.io/x/n:${i}`]: id })));
    assert.equal(store.allTags().length, 16);
    const onDisk = JSON.parse(readFileSync(path.join(root, 'repositories.json'), 'utf8')) as Record<string, string>;
    assert.equal(Object.keys(onDisk).length, 16);
    await Promise.all([store.setTags({ 'docker.io/x/n:0': undefined }), store.setTags({ 'docker.io/x/n:1': undefined })]);
    assert.equal(store.allTags().length, 14);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
