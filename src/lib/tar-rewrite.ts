// docker cp's tar rewriting, shared by the daemon's archive API (engine/containers/archive.ts) and the
// CLI's cp (cli/commands/files.ts): an archive streamed through entry by entry, each header renamed,
// checked or dropped, bodies untouched (nothing is buffered beyond one entry's header). The naming
// rules are moby/go-archive's (RebaseArchiveEntries, the "outside of" and hard-link checks of Untar).
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { nameRebaser } from './copypath.js';

/** A header as tar-stream's pack takes it. */
export type TarHeader = Parameters<tarStream.Pack['entry']>[0];

/** The new header of an entry, or null to drop it; a rejection stops the rewrite with that error. */
export type HeaderMap = (h: tarStream.Header) => TarHeader | null | Promise<TarHeader | null>;

export interface RewrittenTar {
  /** The rewritten archive; destroyed with the error when the source, a header or the packer fails. */
  out: PassThrough;
  /** Settles when the whole archive was rewritten (rejects as `out` is destroyed). */
  done: Promise<void>;
}

/** A tar stream rewritten entry by entry: `map` returns the new header (or null to drop the entry). */
export function rewriteTar(src: Readable, map: HeaderMap, opts: { highWaterMark?: number } = {}): RewrittenTar {
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const out = new PassThrough(opts.highWaterMark ? { highWaterMark: opts.highWaterMark } : undefined);
  const done = new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      out.destroy(e);
      reject(e);
    };
    extract.on('entry', (h, body, next) => {
      Promise.resolve(map(h)).then(
        (header) => {
          if (!header) {
            body.on('end', () => next());
            body.resume();
            return;
          }
          body.pipe(pack.entry(header, (err) => next(err ?? undefined)));
        },
        (e: Error) => {
          body.resume();
          extract.destroy(e);
        },
      );
    });
    extract.on('finish', () => pack.finalize());
    extract.on('error', fail);
    src.on('error', fail);
    pack.on('error', fail);
    pack.on('end', resolve);
  });
  done.catch(() => undefined);
  src.pipe(extract);
  pack.pipe(out);
  return { out, done };
}

/** archive.RebaseArchiveEntries: `oldBase` at the start of each name (and hard link target) becomes `newBase`. */
export function rebaseArchive(src: Readable, oldBase: string, newBase: string): Readable {
  const rebase = nameRebaser(oldBase, newBase);
  return rewriteTar(src, (h) => ({ ...h, name: rebase(h.name), linkname: h.type === 'link' && h.linkname ? rebase(h.linkname) : h.linkname })).out;
}

/**
 * The daemon's renaming of an archived path (GET /containers/{id}/archive): entries named from
 * `sourceBase` ("." for a directory's contents, or the file's name) take the base name the caller
 * asked for; "/" (the root asked for) keeps absolute names.
 */
export function rebaseEntryName(sourceBase: string, rebaseName: string): (name: string) => string {
  return (name) => {
    const rel = name === sourceBase ? '' : name.slice(sourceBase.length + 1);
    if (rebaseName === '/') return '/' + rel;
    return rel ? `${rebaseName}/${rel}` : rebaseName;
  };
}

/** "./a/b/" → "a/b": a name as tar -C dir . writes it, without the leading "./" and trailing "/". */
export const stripDotSlash = (n: string): string => n.replace(/^\.\/?/, '').replace(/\/$/, '');

/** An entry's name relative to where it is extracted: normalised, no leading or trailing "/"
 *  ("" or "." is the destination itself). */
export function extractName(name: string): string {
  return path.posix.normalize(name).replace(/^\/+/, '').replace(/\/$/, '');
}

/** A hard link's target relative to where it is extracted. */
export function extractLinkName(linkname: string | undefined): string {
  return path.posix.normalize(linkname ?? '').replace(/^\/+/, '');
}

/** A normalised relative name that climbs out of the destination ("..", "../x"): refused on extraction. */
export function escapesDestination(name: string): boolean {
  return name === '..' || name.startsWith('../');
}

/** A header with owners numeric only and the fields tar-stream re-derives left out. */
export function cleanHeader(h: tarStream.Header, name: string, linkname?: string): TarHeader {
  return {
    // Directories end in "/", as Go's archive/tar (and so dockerd) names them.
    name: h.type === 'directory' && !name.endsWith('/') ? name + '/' : name,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.type === 'file' || h.type === 'contiguous-file' ? h.size : 0,
    mtime: h.mtime,
    type: h.type === 'contiguous-file' ? 'file' : h.type,
    linkname: linkname ?? h.linkname,
    devmajor: h.devmajor,
    devminor: h.devminor,
  };
}
