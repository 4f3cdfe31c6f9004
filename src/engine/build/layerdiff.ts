// A build step's new layer is the upper dir of its overlay snapshot. The upper dir already has the layer
// store's on-disk form (overlay whiteouts), so it is moved into the layer store as is; the layer tar for
// the content store (and the diff ID) is written from it with overlay whiteouts turned back into the
// image format's `.wh.` entries (a 0:0 character device → `.wh.<name>`, an opaque directory →
// `.wh..wh..opq`), in name order so the same files give the same digest.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import { CommandError } from '../../lib/exec.js';
import { writeJsonAtomic } from '../../lib/fsutil.js';
import { tee } from '../../lib/streams.js';
import type { ContentStore } from '../content/store.js';
import { LAYER_TAR } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import { chainId as chainIdOf, entrySize, type LayerInfo, type LayerStore } from '../snapshots/layers.js';

const OPAQUE_XATTR = 'SCHILY.xattr.trusted.overlay.opaque';

/** The upper dir as an image-format layer tar (whiteouts converted), streamed. */
export function layerTar(upperDir: string): { stream: Readable; done: Promise<{ size: number }> } {
  const argv = ['tar', '-C', upperDir, '-c', '--sort=name', '--numeric-owner', '--xattrs', '--xattrs-include=*', '-f', '-', '.'];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const extract = tarStream.extract();
  const pack = tarStream.pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  let size = 0;
  extract.on('entry', (h, body, next) => {
    const name = h.name.replace(/^\.\//, '');
    if (!name || name === '.') {
      body.resume();
      return void body.on('end', next);
    }
    const pax: Record<string, string> = { ...((h.pax as Record<string, string> | undefined) ?? {}) };
    const opaque = pax[OPAQUE_XATTR] === 'y';
    for (const k of Object.keys(pax)) if (k.startsWith('SCHILY.xattr.trusted.overlay.')) delete pax[k];
    if (h.type === 'character-device' && h.devmajor === 0 && h.devminor === 0) {
      body.resume();
      const wh = path.posix.join(path.posix.dirname(name), '.wh.' + path.posix.basename(name));
      pack.entry({ name: wh, type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: h.mtime }, Buffer.alloc(0), next);
      return;
    }
    size += entrySize(h);
    const header = { ...h, name, pax: Object.keys(pax).length ? pax : undefined };
    const entry = pack.entry(header, (err) => {
      if (err) return next(err);
      if (opaque) pack.entry({ name: path.posix.join(name, '.wh..wh..opq'), type: 'file', size: 0, mode: 0o644, uid: 0, gid: 0, mtime: h.mtime }, Buffer.alloc(0), next);
      else next();
    });
    body.pipe(entry);
  });
  const done = new Promise<{ size: number }>((resolve, reject) => {
    const fail = (e: Error) => {
      out.destroy(e);
      reject(e);
    };
    extract.on('finish', () => pack.finalize());
    extract.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) fail(new CommandError(argv, code, stderr));
    });
    pack.on('end', () => resolve({ size }));
  });
  done.catch(() => undefined);
  child.stdout.pipe(extract);
  pack.pipe(out);
  return { stream: out, done };
}

/** Store the upper dir as a layer over `parent`: blob in the content store, directory in the layer store. */
export async function commitUpper(content: ContentStore, layers: LayerStore, upperDir: string, parent: string | undefined): Promise<{ ref: LayerRef; info: LayerInfo }> {
  const { stream, done } = layerTar(upperDir);
  const [toBlob, toHash] = tee(stream, 2);
  const hash = createHash('sha256');
  let tarSize = 0;
  const hashed = (async () => {
    for await (const c of toHash!) {
      hash.update(c as Buffer);
      tarSize += (c as Buffer).length;
    }
  })();
  const [blob, , { size }] = await Promise.all([content.put(toBlob!), hashed, done]);
  const diffId = 'sha256:' + hash.digest('hex');
  const info: LayerInfo = { chainId: chainIdOf(parent, diffId), diffId, size, tarSize, ...(parent ? { parent } : {}) };
  const dest = layers.layerDir(info.chainId);
  if (!(await layers.info(info.chainId))) {
    const tmp = `${dest}.tmp-${process.pid}`;
    await fs.mkdir(tmp, { recursive: true });
    await fs.rename(upperDir, path.join(tmp, 'diff'));
    await writeJsonAtomic(path.join(tmp, 'layer.json'), info);
    try {
      await fs.rename(tmp, dest);
    } catch (e) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }
  return { ref: { diffId, digest: blob.digest, mediaType: LAYER_TAR, size: blob.size }, info };
}
