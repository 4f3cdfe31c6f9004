// Mounting what a snapshotter returns (types.ts's Mount[]): the callers' side of the snapshotter
// interface, as containerd's mount.All / mount.Unmount. An overlay is mounted with mount(2) through
// berth's addon (lib/sys.ts) where it can be, else (and every other kind) by mount(8): the program is a
// fork + exec on every container start and exit.
import { readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { run } from '../../lib/exec.js';
import { MNT_DETACH, MS_RDONLY, sys } from '../../lib/sys.js';
import type { Mount } from './snapshotter.js';

/** Mount `mounts` at `target`, in order (creating the target). */
export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  await fs.mkdir(target, { recursive: true });
  for (const m of mounts) {
    if (await mountOverlay(m, target)) continue;
    const { options, cwd } = m.type === 'overlay' ? compactLowerdirs(m.options) : { options: m.options, cwd: undefined };
    await run(['mount', '-t', m.type, ...(options.length ? ['-o', options.join(',')] : []), m.source, target], cwd ? { cwd } : {});
  }
}

/** mount(2) of an overlay whose options are all the kernel's own (`ro` aside) and fit in a page as they
 *  are (no relative lower dirs: the thread that mounts shares berthd's working directory). */
async function mountOverlay(m: Mount, target: string): Promise<boolean> {
  if (!sys || m.type !== 'overlay') return false;
  const data = m.options.filter((o) => o !== 'ro');
  if (data.some((o) => !o.includes('=') && o !== 'volatile') || data.join(',').length >= 4000) return false;
  const workdir = data.find((o) => o.startsWith('workdir='))?.slice('workdir='.length);
  // A volatile mount (PrepareOptions.volatile: a build step, a --rm container) leaves
  // WORKDIR/work/incompat/volatile behind, and overlayfs refuses the next mount while it is there (a crash
  // may have lost writes): such an upper dir is disposable, and any other never has the marker.
  if (workdir) await fs.rm(path.join(workdir, 'work', 'incompat'), { recursive: true, force: true });
  const flags = m.options.includes('ro') ? MS_RDONLY : 0;
  const mounted = await sys.mount(m.source, target, m.type, flags, data.join(',')).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      // A kernel before 5.10 has no `volatile`: mounted as any other then.
      if (e.code === 'EINVAL' && data.includes('volatile')) return false;
      throw e;
    },
  );
  if (!mounted) await sys.mount(m.source, target, m.type, flags, data.filter((o) => o !== 'volatile').join(','));
  return true;
}

/**
 * The overlay's lower dirs relative to the directory holding the lowest one (mount runs there), others
 * absolute: the option string must fit in a page (4096 bytes), and 64-hex layer names relative to the
 * layer store allow ~60 layers where absolute paths would not (containerd's compactLowerdirOption).
 */
function compactLowerdirs(options: string[]): { options: string[]; cwd?: string } {
  const i = options.findIndex((o) => o.startsWith('lowerdir='));
  if (i < 0) return { options };
  const lowers = options[i]!.slice('lowerdir='.length).split(':');
  const cwd = path.dirname(path.dirname(lowers[lowers.length - 1]!));
  const rel = lowers.map((l) => (l.startsWith(cwd + '/') ? l.slice(cwd.length + 1) : l));
  const out = [...options];
  out[i] = `lowerdir=${rel.join(':')}`;
  return { options: out, cwd };
}

/** Unmount `target` if it is a mount point (lazily if it is busy). */
export async function unmount(target: string): Promise<void> {
  if (!isMounted(target)) return;
  if (sys) {
    await sys.umount(target, 0).catch(() => (isMounted(target) ? sys!.umount(target, MNT_DETACH) : undefined));
    return;
  }
  const r = await run(['umount', target], { allowFailure: true });
  if (r.exitCode !== 0 && isMounted(target)) await run(['umount', '-l', target]);
}

/** Whether a path is a mount point, from /proc/self/mountinfo (field 5; octal escapes for spaces). */
export function isMounted(target: string): boolean {
  const abs = path.resolve(target);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === abs);
}

/** The writable layer of an overlay snapshot's mounts (its `upperdir=`): what diff, commit and
 *  export read, with no mount needed. Undefined for read-only mounts. */
export function upperDirOf(mounts: Mount[]): string | undefined {
  for (const m of mounts) {
    if (m.type !== 'overlay') continue;
    const o = m.options.find((x) => x.startsWith('upperdir='));
    if (o) return o.slice('upperdir='.length);
  }
  return undefined;
}
