// The inventory of an image archive (`docker save` tar, legacy or OCI-layout form) read in one pass,
// without loading it: small JSON entries are kept, each layer entry is catalogued as it streams by
// (its diff ID hashed on the way), then manifest.json (or index.json) says which entries are the
// image's layers in order. An uncompressed OCI blob already in the layer cache is skipped unread.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import * as tarStream from 'tar-stream';
import type { ImageSbom } from '../../api/sbom.js';
import type { OciImageConfig } from '../../api/image-config.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { decompressed } from '../snapshots/layers.js';
import { catalogueLayer } from './catalogue.js';
import type { LayerFacts } from './fragments.js';
import { layerRefs, sbomOf, type LayerReader } from './inventory.js';
import { tarView } from './view.js';

const SMALL = 8 * 1024 * 1024;
const clean = (p: string) => path.posix.normalize(p.replace(/^\.?\/+/, ''));

function isTarHeader(b: Buffer): boolean {
  return b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

function isCompressed(b: Buffer): boolean {
  return (b[0] === 0x1f && b[1] === 0x8b) || b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])) || b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
}

interface Scanned {
  small: Map<string, Buffer>;
  layers: Map<string, { facts: LayerFacts; diffId?: string }>;
  links: Map<string, string>;
}

export async function archiveInventory(file: string, reader: LayerReader): Promise<ImageSbom> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new InvalidParameter(`${file} is not a file: give the path of an image archive (docker save -o FILE)`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`no such image archive: ${file}`);
    throw e;
  }
  let scanned: Scanned;
  try {
    scanned = await scan(createReadStream(file), reader);
  } catch (e) {
    if (e instanceof InvalidParameter) throw e;
    throw new InvalidParameter(`${file}: not a readable image archive (${(e as Error).message})`);
  }
  return fromScanned(file, scanned, reader);
}

async function scan(src: Readable, reader: LayerReader): Promise<Scanned> {
  const out: Scanned = { small: new Map(), layers: new Map(), links: new Map() };
  const extract = tarStream.extract();
  const feed = pipeline(src, (async function* (s: AsyncIterable<Buffer>) { yield* decompressed(s); }), extract);
  const walk = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = clean(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        out.links.set(name, h.type === 'symlink' ? clean(path.posix.join(path.posix.dirname(name), h.linkname ?? '')) : clean(h.linkname ?? ''));
        entry.resume();
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const blob = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      if (blob) {
        const hit = await reader.cached('sha256:' + blob[1]);
        if (hit) {
          out.layers.set(name, { facts: hit, diffId: 'sha256:' + blob[1] });
          entry.resume();
          continue;
        }
      }
      const it = (entry as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      const first = await it.next();
      if (first.done) continue;
      const head = first.value;
      const rest = async function* () {
        yield head;
        for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
      };
      if ((h.size ?? 0) <= SMALL && !isTarHeader(head) && !isCompressed(head)) {
        const parts: Buffer[] = [];
        for await (const c of rest()) parts.push(c);
        out.small.set(name, Buffer.concat(parts));
        continue;
      }
      if (!isTarHeader(head) && !isCompressed(head)) {
        for await (const _ of rest());
        continue;
      }
      const hash = createHash('sha256');
      const facts = await catalogueLayer(tarView(rest(), (c) => hash.update(c)));
      out.layers.set(name, { facts, diffId: 'sha256:' + hash.digest('hex') });
    }
  })();
  await Promise.race([walk.then(() => feed), feed.then(() => walk)]);
  return out;
}

interface SaveItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function json<T>(s: Scanned, name: string, file: string): T {
  const b = s.small.get(resolve(s, name));
  if (!b) throw new InvalidParameter(`${file}: the archive has no ${name}`);
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (e) {
    throw new InvalidParameter(`${file}: ${name} is not valid JSON (${(e as Error).message})`);
  }
}

function resolve(s: Scanned, name: string): string {
  let n = clean(name);
  for (let i = 0; i < 8 && s.links.has(n); i++) n = s.links.get(n)!;
  return n;
}

async function fromScanned(file: string, s: Scanned, reader: LayerReader): Promise<ImageSbom> {
  let item: SaveItem;
  if (s.small.has('manifest.json')) {
    const items = json<SaveItem[]>(s, 'manifest.json', file);
    if (!Array.isArray(items) || !items[0]?.Config || !Array.isArray(items[0].Layers)) throw new InvalidParameter(`${file}: manifest.json names no image`);
    item = items[0];
  } else if (s.small.has('index.json')) {
    // An OCI layout without Docker's manifest.json: its first image manifest.
    const index = json<{ manifests?: { digest: string; annotations?: Record<string, string> }[] }>(s, 'index.json', file);
    const d = index.manifests?.[0];
    if (!d) throw new InvalidParameter(`${file}: index.json names no image`);
    const m = json<{ config: { digest: string }; layers: { digest: string }[] }>(s, `blobs/${d.digest.replace(':', '/')}`, file);
    const tag = d.annotations?.['io.containerd.image.name'] ?? d.annotations?.['org.opencontainers.image.ref.name'];
    item = { Config: `blobs/${m.config.digest.replace(':', '/')}`, RepoTags: tag ? [tag] : [], Layers: m.layers.map((l) => `blobs/${l.digest.replace(':', '/')}`) };
  } else {
    throw new InvalidParameter(`${file}: not an image archive (no manifest.json or index.json)`);
  }
  const config = json<OciImageConfig>(s, item.Config, file);
  const refs = layerRefs(config);
  if (refs.length !== item.Layers.length) throw new InvalidParameter(`${file}: its config names ${refs.length} layers but its manifest ${item.Layers.length}`);
  const layers = [];
  for (const [i, ref] of refs.entries()) {
    const got = s.layers.get(resolve(s, item.Layers[i]!));
    if (!got) throw new InvalidParameter(`${file}: layer ${item.Layers[i]} is missing from the archive`);
    if (got.diffId && got.diffId !== ref.diffId) throw new InvalidParameter(`${file}: layer ${item.Layers[i]} has diff ID ${got.diffId}, but the config says ${ref.diffId}`);
    await reader.store(ref.diffId, got.facts);
    layers.push({ ref, facts: got.facts });
  }
  const id = item.Config.startsWith('blobs/sha256/') ? 'sha256:' + item.Config.slice('blobs/sha256/'.length) : 'sha256:' + path.posix.basename(item.Config, '.json');
  return sbomOf({ id, repoTags: item.RepoTags ?? [], repoDigests: [], os: config.os, architecture: config.architecture }, layers);
}
