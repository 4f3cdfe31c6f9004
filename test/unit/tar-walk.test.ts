// The tar walker reads members from raw bytes in any chunking and hands each member's records on
// unchanged: every destination's bytes form a valid tar of its members (GNU tar lists them), in order.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tarStream from 'tar-stream';
import { TarFormatError, TarWalker, type TarMember } from '../../src/lib/tar-walk.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'; body?: string; linkname?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644 }, e.body ?? '');
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Walk `tar` in chunks of `size` bytes; returns the members seen and each destination's bytes. */
function walk(tar: Buffer, size: number, route: (m: TarMember) => string): { members: TarMember[]; out: Map<string, Buffer> } {
  const members: TarMember[] = [];
  const walker = new TarWalker<string>((m) => (members.push(m), route(m)));
  const parts = new Map<string, Buffer[]>();
  for (let at = 0; at < tar.length; at += size) {
    for (const [d, bufs] of walker.push(tar.subarray(at, at + size))) {
      if (!parts.has(d)) parts.set(d, []);
      parts.get(d)!.push(...bufs);
    }
  }
  walker.finish();
  return { members, out: new Map([...parts].map(([d, b]) => [d, Buffer.concat(b)])) };
}

function gnuList(tar: Buffer): string[] {
  const r = spawnSync('tar', ['-t'], { input: Buffer.concat([tar, Buffer.alloc(1024)]), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

const LONG = 'd'.repeat(120) + '/' + 'f'.repeat(150);

describe('tar walker', () => {
  const entries: Entry[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', body: 'box\n' },
    { name: LONG, body: 'x'.repeat(1000) },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/ash', type: 'link', linkname: 'etc/hostname' },
    { name: 'run/fifo', type: 'fifo' },
    { name: 'etc/big', body: 'y'.repeat(70_000) },
  ];

  for (const size of [1, 511, 512, 4096, 1 << 20]) {
    it(`reads names, types, link names and sizes in chunks of ${size} bytes`, async () => {
      const { members } = walk(await tarOf(entries), size, () => 'a');
      assert.deepEqual(
        members.map((m) => [m.name, m.type, m.linkname, m.size]),
        [
          ['etc/', 'directory', '', 0],
          ['etc/hostname', 'file', '', 4],
          [LONG, 'file', '', 1000],
          ['bin/sh', 'symlink', 'busybox', 0],
          ['bin/ash', 'link', 'etc/hostname', 0],
          ['run/fifo', 'fifo', '', 0],
          ['etc/big', 'file', '', 70_000],
        ],
      );
    });
  }

  it('gives each destination a valid tar of its members (pax long names kept with their member)', async () => {
    const { out } = walk(await tarOf(entries), 700, (m) => (m.type === 'file' ? 'files' : 'rest'));
    assert.deepEqual(gnuList(out.get('files')!), ['etc/hostname', LONG, 'etc/big']);
    assert.deepEqual(gnuList(out.get('rest')!), ['etc/', 'bin/sh', 'bin/ash', 'run/fifo']);
  });

  it("reads GNU tar's own long-name records and ustar prefixes", async () => {
    for (const format of ['gnu', 'ustar', 'posix']) {
      const r = spawnSync('sh', ['-c', `d=$(mktemp -d) && mkdir -p "$d/${'p'.repeat(90)}" && echo hi > "$d/${'p'.repeat(90)}/${'n'.repeat(60)}" && ln -s "${format === 'ustar' ? 't' : 't'.repeat(120)}" "$d/link" && tar -C "$d" --format=${format} -c . && rm -rf "$d"`]);
      assert.equal(r.status, 0, String(r.stderr));
      const { members } = walk(r.stdout, 333, () => 'a');
      const names = members.map((m) => m.name);
      assert.ok(names.includes(`./${'p'.repeat(90)}/${'n'.repeat(60)}`), `${format}: ${names.join(', ')}`);
      if (format !== 'ustar') assert.equal(members.find((m) => m.name === './link')?.linkname, 't'.repeat(120), format);
    }
  });

  it('stops at the end-of-archive blocks and ignores what follows', async () => {
    const tar = Buffer.concat([await tarOf([{ name: 'a', body: '1' }]), Buffer.from('trailing garbage')]);
    const { members } = walk(tar, 100, () => 'a');
    assert.deepEqual(members.map((m) => m.name), ['a']);
  });

  it('refuses a corrupt header and an archive cut inside a member', async () => {
    const tar = await tarOf([{ name: 'a', body: 'z'.repeat(2000) }]);
    const bad = Buffer.from(tar);
    bad[10] ^= 0xff;
    assert.throws(() => walk(bad, 512, () => 'a'), TarFormatError);
    assert.throws(() => walk(tar.subarray(0, 1024), 512, () => 'a'), /unexpected end/);
  });
});
