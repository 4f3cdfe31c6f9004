// Paths inside a root file system (a container's rootfs, an image layer, a build context) resolved as if
// the root were "/": symlinks are followed in scope, so no path can lead out of the root.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from './errors.js';

const MAX_SYMLINKS = 255;

/** Join `p` under `root` resolving every symlink as if root were "/": nothing escapes the rootfs. */
export async function secureJoin(root: string, p: string): Promise<string> {
  const pending = p.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(root, ...done, part);
    let target: string | undefined;
    try {
      if ((await fs.lstat(candidate)).isSymbolicLink()) target = await fs.readlink(candidate);
    } catch {
      // a missing component: keep it literally, the caller's open fails as it should
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new InvalidParameter(`too many levels of symbolic links: ${p}`);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
  }
  return path.join(root, ...done);
}
