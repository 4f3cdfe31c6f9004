// What `build` sends as its context: a directory minus what its .dockerignore excludes (never the
// Dockerfile or the .dockerignore itself), as a tar. Against berthd the directory is synced instead:
// the file list (type, mode, size, mtime) goes first and only the entries berthd lacks follow
// (engine/builder/contexts.ts); a daemon without that endpoint (dockerd) gets the whole tar.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, promises as fs, readdirSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type * as tarStream from 'tar-stream';
import { dockerignore } from '../lib/dockerignore.js';
import { run, startProcess } from '../lib/exec.js';
import { listingDigest, listingJSON, type ContextEntry, type ContextSyncAnswer } from '../api/build-context.js';
import type { EngineClient } from './engine.js';
import { ApiError } from './errors.js';

/** The context's entries that .dockerignore keeps, parents before children, with what berthd compares. */
export async function contextEntries(dir: string, keep: Set<string>): Promise<ContextEntry[]> {
  const rules = readIfFile(path.join(dir, '.dockerignore'));
  const ignored = await dockerignore(rules);
  let all: ContextEntry[];
  try {
    all = listTree(dir);
  } catch (e) {
    throw new Error(`cannot list the build context ${dir}: ${(e as Error).message}`);
  }
  const out = all.filter((e) => !ignored(e[0]) || keep.has(e[0]));
  // Name order, parents first: the tar (and the extraction) then creates directories before their contents.
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A small file's text, or undefined when it cannot be read (missing, a directory). */
function readIfFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every file, directory and symbolic link under dir (other types are never sent), with its lstat.
 *  Synchronous on purpose: a few thousand lstat calls made one after the other from here cost less than
 *  as many round trips through libuv's thread pool, or than starting `find` and parsing its output.
 *  Ignored directories are still listed, since exceptions ("!dir/file") may live inside them. */
function listTree(dir: string): ContextEntry[] {
  const out: ContextEntry[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel ? `${dir}/${rel}` : dir)) {
      const p = rel ? `${rel}/${name}` : name;
      // Gone since the directory was read: not part of the context.
      const st = lstatSync(`${dir}/${p}`, { bigint: true, throwIfNoEntry: false });
      if (!st) continue;
      const type = st.isFile() ? 'f' : st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : undefined;
      if (!type) continue;
      out.push([p, type, Number(st.mode & 0o7777n), type === 'd' ? 0 : Number(st.size), String(st.mtimeNs)]);
      if (type === 'd') walk(p);
    }
  };
  walk('');
  return out;
}

/** GNU tar packs the listed paths (fast for thousands of small files); its output is the request body. */
export function tarPaths(dir: string, paths: string[]): Readable {
  const child = startProcess('tar', ['-C', dir, '-c', '--no-recursion', '--null', '-T', '-', '-f', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(paths.map((p) => p + '\0').join(''));
  // Taken at once: a child's stdout nobody reads yet loses its data when the child exits first.
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  child.stdout.pipe(out, { end: false });
  child.on('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`tar failed to pack the build context (exit ${code})`));
  });
  return out;
}

/** Pack a directory as a context tar, leaving out what .dockerignore excludes, plus one extra file
 *  (a Dockerfile from outside the context, under a private name). */
export async function packDirectory(dir: string, keep: Set<string>, extra?: { name: string; data: Buffer }): Promise<Readable> {
  const rules = await fs.readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => undefined);
  const ignored = await dockerignore(rules);
  const pack = (await import('tar-stream')).pack(); // loaded only when needed: it costs start-up time
  const add = (header: Partial<tarStream.Header> & { name: string }, data?: Buffer | Readable): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (e?: Error | null) => (e ? reject(e) : resolve());
      if (data instanceof Readable) data.pipe(pack.entry(header as tarStream.Header, done));
      else pack.entry(header as tarStream.Header, data ?? Buffer.alloc(0), done);
    });
  const walk = async (rel: string): Promise<void> => {
    for (const e of (await fs.readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, p);
      const st = await fs.lstat(full);
      const skip = ignored(p) && !keep.has(p);
      if (e.isDirectory()) {
        if (!skip) await add({ name: p, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime });
        await walk(p); // exceptions ("!dir/file") may live inside an ignored directory
      } else if (skip) continue;
      else if (e.isSymbolicLink()) await add({ name: p, type: 'symlink', linkname: await fs.readlink(full), mode: st.mode & 0o7777, mtime: st.mtime });
      else if (e.isFile()) await add({ name: p, type: 'file', size: st.size, mode: st.mode & 0o7777, mtime: st.mtime }, createReadStream(full));
    }
  };
  void (async () => {
    try {
      await walk('');
      if (extra) await add({ name: extra.name, type: 'file', size: extra.data.length, mode: 0o644 }, extra.data);
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

/** A directory context for the build request: synced with berthd when it can (then the session header
 *  goes with the request), else the whole tar. */
export async function directoryContext(client: EngineClient, dir: string, dockerfile: string, keep: Set<string>): Promise<{ body: Readable; headers: Record<string, string> }> {
  // Synced, the Dockerfile travels as text: the kept copy holds only what .dockerignore lets COPY see.
  const entries = await contextEntries(dir, new Set());
  // (Synchronous: each asynchronous call is a trip through libuv's thread pool, slow on a busy machine.)
  const key = createHash('sha256').update(`${os.hostname()}\0${realpathSync.native(dir)}`).digest('hex');
  // The Dockerfile goes with the list: berthd starts the build while the files are still arriving.
  const text = readFileSync(path.join(dir, dockerfile), 'utf8');
  const listing = listingJSON(entries);
  try {
    const sync = await syncContext(client, key, listing, text);
    // Nothing changed: an empty body, no tar to start.
    return { body: sync.Need.length ? tarPaths(dir, sync.Need) : Readable.from([]), headers: { 'X-Berth-Context-Session': sync.Session } };
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 404 && e.status !== 405)) throw e;
    return { body: tarPaths(dir, (await contextEntries(dir, keep)).map((e) => e[0])), headers: {} };
  }
}

/** The listing's digest first (a directory berthd already holds as it is costs one small request), the
 *  listing itself when berthd's kept copy differs (or berthd predates digests: it refuses one alone). */
async function syncContext(client: EngineClient, key: string, listing: string, dockerfile: string): Promise<ContextSyncAnswer> {
  const post = (body: string) => client.json<ContextSyncAnswer>({ method: 'POST', path: '/build/context', input: Buffer.from(body), contentType: 'application/json' });
  const head = `{"Key":${JSON.stringify(key)},"Dockerfile":${JSON.stringify(dockerfile)}`;
  const known = await post(`${head},"Digest":${JSON.stringify(listingDigest(listing))}}`).catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 400) return undefined;
    throw e;
  });
  return known && !known.NeedEntries ? known : post(`${head},"Entries":${listing}}`);
}

/** A git context as Docker recognises one (urlutil.IsGitURL): git://, git@…, github.com/…, or an http(s)
 *  URL whose path ends in .git (`#ref:subdir` may follow). */
export function isGitURL(s: string): boolean {
  return /^(git:\/\/|git@|github\.com\/)/.test(s) || /^https?:\/\/[^#]*\.git(#.*)?$/.test(s);
}

/** An http(s) URL context: a tar (plain or compressed) or a Dockerfile alone, downloaded by the CLI. */
export function isURL(s: string): boolean {
  return /^https?:\/\//.test(s);
}

/** Clone a git context (`URL#ref:subdir`, as docker build takes it) into a new temporary directory: the
 *  ref fetched alone (a branch, a tag or a commit), submodules too. */
export async function cloneGitContext(url: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const hash = url.indexOf('#');
  const remote = hash < 0 ? url : url.slice(0, hash);
  const [ref = '', subdir = ''] = (hash < 0 ? '' : url.slice(hash + 1)).split(':', 2);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-git-'));
  const cleanup = () => fs.rm(root, { recursive: true, force: true });
  const git = async (args: string[]) => {
    try {
      await run(['git', ...args], { cwd: root });
    } catch (e) {
      throw new Error(`unable to prepare context: unable to 'git clone' to temporary context directory: ${(e as Error).message}`);
    }
  };
  try {
    await git(['init', '-q']);
    await git(['remote', 'add', 'origin', remote]);
    await git(['fetch', '-q', '--depth', '1', 'origin', ref || 'HEAD']);
    await git(['checkout', '-q', 'FETCH_HEAD']);
    await git(['submodule', 'update', '-q', '--init', '--recursive', '--depth', '1']);
    const dir = path.resolve(root, subdir || '.');
    if (dir !== root && !dir.startsWith(root + path.sep)) throw new Error(`unable to prepare context: subdirectory ${subdir} is outside the repository`);
    if (!(await fs.stat(dir).catch(() => undefined))?.isDirectory()) throw new Error(`unable to prepare context: subdirectory ${subdir} not found in ${remote}`);
    await fs.rm(path.join(root, '.git'), { recursive: true, force: true });
    return { dir, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Download a URL context (the docker CLI does it on its side too, then sends the bytes). */
export async function downloadContext(url: string): Promise<Buffer> {
  const res = await fetch(url).catch((e: Error) => {
    throw new Error(`unable to prepare context: unable to download remote context ${url}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  });
  if (!res.ok) throw new Error(`unable to prepare context: unable to download remote context ${url}: ${res.status} ${res.statusText}`);
  return Buffer.from(await res.arrayBuffer());
}
