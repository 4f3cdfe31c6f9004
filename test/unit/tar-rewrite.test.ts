// docker cp's tar rewriting (src/lib/tar-rewrite.ts), shared by the archive API and the cp command.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import {
  cleanHeader,
  escapesDestination,
  extractLinkName,
  extractName,
  rebaseArchive,
  rebaseEntryName,
  rewriteTar,
  stripDotSlash,
  type TarHeader,
} from '../../src/lib/tar-rewrite.js';

type Entry = { header: TarHeader; body?: string };

function tarOf(entries: Entry[]): Readable {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry(e.header, e.body ?? '');
  pack.finalize();
  return pack as unknown as Readable;
}

async function entriesOf(src: Readable): Promise<{ name: string; type?: string | null; linkname?: string | null; body: string; uid: number }[]> {
  const extract = tarStream.extract();
  src.pipe(extract);
  const out = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    out.push({ name: h.name, type: h.type, linkname: h.linkname, body: Buffer.concat(chunks).toString(), uid: h.uid ?? 0 });
  }
  return out;
}

const sample = (): Readable =>
  tarOf([
    { header: { name: 'etc/', type: 'directory', mode: 0o755 } },
    { header: { name: 'etc/hosts', type: 'file', mode: 0o644, uid: 5 }, body: 'localhost\n' },
    { header: { name: 'etc/hosts.link', type: 'link', linkname: 'etc/hosts', mode: 0o644 } },
    { header: { name: 'etc/motd', type: 'symlink', linkname: '/etc/hosts', mode: 0o777 } },
  ]);

describe('tar rewrite: the stream', () => {
  it('renames, drops and keeps bodies', async () => {
    const { out, done } = rewriteTar(sample(), (h) => (h.name === 'etc/motd' ? null : { ...h, name: 'x/' + h.name }));
    const entries = await entriesOf(out);
    await done;
    assert.deepEqual(
      entries.map((e) => e.name),
      ['x/etc/', 'x/etc/hosts', 'x/etc/hosts.link'],
    );
    assert.equal(entries[1]!.body, 'localhost\n');
  });

  it('takes an async map and stops at a refused entry', async () => {
    const { out, done } = rewriteTar(sample(), async (h) => {
      if (h.name === 'etc/hosts.link') throw new Error('refused');
      return h;
    });
    out.resume();
    await assert.rejects(done, /refused/);
    assert.ok(out.destroyed);
  });

  it('fails on a broken archive', async () => {
    const { out, done } = rewriteTar(Readable.from([Buffer.alloc(100, 1)]), (h) => h);
    out.resume();
    await assert.rejects(done);
  });

  it('rebases names and hard link targets as archive.RebaseArchiveEntries (symlink targets stay)', async () => {
    const entries = await entriesOf(rebaseArchive(sample(), 'etc', 'conf'));
    assert.deepEqual(
      entries.map((e) => [e.name, e.linkname ?? '']),
      [
        ['conf/', ''],
        ['conf/hosts', ''],
        ['conf/hosts.link', 'conf/hosts'],
        ['conf/motd', '/etc/hosts'],
      ],
    );
  });
});

describe('tar rewrite: the naming rules', () => {
  it('names an archived path after the base the caller asked for', () => {
    const dir = rebaseEntryName('.', 'etc');
    assert.equal(dir('.'), 'etc');
    assert.equal(dir('./hosts'), 'etc/hosts');
    const file = rebaseEntryName('hosts', 'hosts2');
    assert.equal(file('hosts'), 'hosts2');
    const root = rebaseEntryName('.', '/');
    assert.equal(root('.'), '/');
    assert.equal(root('./etc'), '/etc');
  });

  it('strips the "./" of tar -C dir .', () => {
    assert.equal(stripDotSlash('./a/b/'), 'a/b');
    assert.equal(stripDotSlash('.'), '');
    assert.equal(stripDotSlash('a'), 'a');
  });

  it('normalises names for extraction and refuses those that climb out', () => {
    assert.equal(extractName('/a/./b/'), 'a/b');
    assert.equal(extractName('./'), '.');
    assert.equal(extractName('a/../../x'), '../x');
    assert.equal(extractLinkName('/etc/../etc/hosts'), 'etc/hosts');
    assert.equal(extractLinkName(undefined), '.');
    assert.ok(escapesDestination('..'));
    assert.ok(escapesDestination('../x'));
    assert.ok(!escapesDestination('..x'));
    assert.ok(!escapesDestination('a/..b'));
  });

  it('cleans headers: numeric owners, directories end in "/", sizes only for files', () => {
    const base = { name: '', mode: 0o755, uid: 1, gid: 2, uname: 'root', gname: 'root', size: 0, mtime: new Date(0), linkname: '', devmajor: 0, devminor: 0, pax: {} };
    const h: tarStream.Header = { ...base, name: 'd', type: 'directory', size: 512 };
    const c = cleanHeader(h, 'd');
    assert.equal(c.name, 'd/');
    assert.equal(c.size, 0);
    assert.equal(c.uid, 1);
    assert.equal((c as { uname?: string }).uname, undefined);
    const f = cleanHeader({ ...base, name: 'f', type: 'contiguous-file', size: 3 }, 'g', 'l');
    assert.deepEqual([f.name, f.type, f.size, f.linkname], ['g', 'file', 3, 'l']);
  });
});
