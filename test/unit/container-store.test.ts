// The container record store: a save that loses the race to `rm -f` must neither fail nor bring the
// record back (a restart policy's bookkeeping after an exit met a removal in docker-py's suite).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerStore } from '../../src/engine/containers/store.js';
import type { ContainerRecord } from '../../src/engine/containers/record.js';

const ID = 'c'.repeat(64);

function record(): ContainerRecord {
  return { id: ID, name: '/racer', state: { status: 'running' } } as unknown as ContainerRecord;
}

test('saves racing a delete neither fail nor resurrect the record', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-store-'));
  try {
    const store = new ContainerStore(root);
    await store.save(record());
    const saves = Array.from({ length: 20 }, () => store.save(record()));
    const removal = store.delete(ID);
    const late = store.save(record());
    await Promise.all([...saves, removal, late]);
    assert.equal(store.tryGet(ID), undefined);
    assert.deepEqual(await fs.readdir(root), []);
    const reloaded = new ContainerStore(root);
    await reloaded.load();
    assert.equal(reloaded.all().length, 0);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
