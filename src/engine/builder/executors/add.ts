// What ADD does beyond COPY: a local tar archive (plain, gzip, bzip2, xz) is extracted into the
// destination, and a URL is downloaded (a directory destination keeps the URL's file name).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../../lib/errors.js';
import { run } from '../../../lib/exec.js';
import { secureJoin } from '../../../lib/securejoin.js';
import type { CopyOwner } from './files.js';

export const isUrl = (s: string): boolean => /^https?:\/\//.test(s);

/** ADD of a local tar archive: extracted into the destination; false when the file is no archive. */
export async function addArchive(root: string, rel: string, rootfs: string, dest: string): Promise<boolean> {
  const file = await secureJoin(root, '/' + rel);
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile()) return false;
  const fh = await fs.open(file, 'r');
  const head = Buffer.alloc(512);
  await fh.read(head, 0, 512, 0);
  await fh.close();
  const compressed = (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString() === 'BZh' || head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  const plainTar = head.subarray(257, 262).toString() === 'ustar';
  if (!compressed && !plainTar) return false;
  const target = await secureJoin(rootfs, dest);
  await fs.mkdir(target, { recursive: true });
  const r = await run(['tar', '-x', '-C', target, '--no-same-owner', '-f', file], { allowFailure: true });
  if (r.exitCode !== 0) return false; // not a tar after all: ADD copies it as a file
  return true;
}

/** ADD of a URL: downloaded to the destination (a directory destination keeps the URL's file name). */
export async function addUrl(url: string, rootfs: string, dest: string, isDir: boolean, owner?: CopyOwner): Promise<void> {
  const res = await fetch(url).catch((e: Error) => {
    throw new InvalidParameter(`failed to download ${url}: ${e.message}`);
  });
  if (!res.ok) throw new InvalidParameter(`failed to download ${url}: HTTP ${res.status}`);
  const name = isDir ? path.posix.join(dest, path.posix.basename(new URL(url).pathname) || 'index.html') : dest;
  const target = await secureJoin(rootfs, name);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.writeFile(target, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
  await fs.lchown(target, owner?.uid ?? 0, owner?.gid ?? 0);
  const lm = res.headers.get('last-modified');
  if (lm) await fs.utimes(target, new Date(lm), new Date(lm));
}
