// Layer identity and whiteouts: chain IDs, diff IDs (plain or gzip), whiteout names, the batch script.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { chainId, chainIds, decompressed, entrySize, opaqueRestoreScript, whiteoutMarkers, whiteoutOf } from '../../src/engine/snapshots/layers.js';

const sha = (s: string | Buffer) => 'sha256:' + createHash('sha256').update(s).digest('hex');

async function hashOf(src: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of decompressed(src)) h.update(c);
  return 'sha256:' + h.digest('hex');
}

describe('layer identity', () => {
  it('computes chain IDs as Docker does', () => {
    const d = [sha('a'), sha('b'), sha('c')];
    assert.equal(chainId(undefined, d[0]!), d[0]);
    const c1 = sha(`${d[0]} ${d[1]}`);
    assert.deepEqual(chainIds(d), [d[0], c1, sha(`${c1} ${d[2]}`)]);
    assert.deepEqual(chainIds([]), []);
  });

  it('computes the same diff ID for a layer plain and gzip-compressed', async () => {
    const tar = Buffer.alloc(10240, 7);
    assert.equal(await hashOf(Readable.from([tar])), sha(tar));
    assert.equal(await hashOf(Readable.from([gzipSync(tar)])), sha(tar));
  });

  it('fails, rather than stalls, on a truncated gzip layer', async () => {
    const gz = gzipSync(Buffer.alloc(100000, 1));
    await assert.rejects(hashOf(Readable.from([gz.subarray(0, gz.length / 2)])));
  });

  it('counts layer sizes as Docker does: file bytes and symlink targets', () => {
    assert.equal(entrySize({ type: 'file', size: 10 }), 10);
    assert.equal(entrySize({ type: 'symlink', linkname: 'busybox' }), 7);
    assert.equal(entrySize({ type: 'link', linkname: 'a', size: 0 }), 0);
    assert.equal(entrySize({ type: 'directory', size: 0 }), 0);
  });
});

describe('whiteouts', () => {
  it('maps whiteout entries to overlayfs form', () => {
    assert.deepEqual(whiteoutOf('etc/.wh.passwd'), { kind: 'file', path: 'etc/passwd' });
    assert.deepEqual(whiteoutOf('./.wh.top'), { kind: 'file', path: 'top' });
    assert.deepEqual(whiteoutOf('var/lib/.wh..wh..opq'), { kind: 'opaque', dir: 'var/lib' });
    assert.deepEqual(whiteoutOf('.wh..wh..opq'), { kind: 'opaque', dir: '.' });
    assert.equal(whiteoutOf('etc/passwd'), undefined);
    assert.equal(whiteoutOf('etc/not.wh.x'), undefined);
  });

  it('batches the conversion: markers to remove, opaque xattrs with any byte escaped', () => {
    const w = [whiteoutOf("a/.wh.it's $(x)")!, whiteoutOf('d ir/.wh..wh..opq')!];
    assert.deepEqual(whiteoutMarkers(w), ["a/.wh.it's $(x)", 'd ir/.wh..wh..opq']);
    assert.equal(opaqueRestoreScript(w), '# file: d\\040ir\ntrusted.overlay.opaque="y"\n\n');
  });
});
