// The vulnerability database as an OCI artifact: an OCI image manifest with artifactType
// application/vnd.berth.vulndb.v1, the empty config, and three layers (meta.json, index.bin and the
// gzip-compressed records.jsonl), pushed and pulled through berth's registry client, so any OCI registry
// (berth's own `registry serve` included) hosts it and CI machines fetch it without a rate limit.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import type { JSONMessage } from '../../api/types.js';
import { VULNDB_MEDIA } from '../../api/vulndb.js';
import type { AuthConfig } from '../../distribution/auth.js';
import { RegistryClient } from '../../distribution/registry.js';
import { MEDIA } from '../../image-spec/media-types.js';
import { normalizedString, parseNormalizedNamed, type Reference } from '../../image-spec/reference.js';
import { InvalidParameter } from '../../lib/errors.js';
import { DB_FORMAT, installGeneration, tempGeneration, VulnDb, type DbMeta } from './db.js';

export interface ArtifactOptions {
  auth: AuthConfig;
  insecure?: string[];
  progress: (m: JSONMessage) => void;
}

const EMPTY = Buffer.from('{}');
const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ArtifactManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

const FILES: Array<{ file: string; mediaType: string }> = [
  { file: 'meta.json', mediaType: VULNDB_MEDIA.meta },
  { file: 'index.bin', mediaType: VULNDB_MEDIA.index },
  { file: 'records.jsonl', mediaType: VULNDB_MEDIA.records },
];

function parseRef(text: string): Reference & { tag: string } {
  let ref: Reference;
  try {
    ref = parseNormalizedNamed(text);
  } catch (e) {
    throw new InvalidParameter(`invalid reference "${text}" for the vulnerability database: ${(e as Error).message}`);
  }
  if (ref.digest && !ref.tag) return { ...ref, tag: ref.digest };
  return { ...ref, tag: ref.tag ?? 'latest' };
}

async function digestOf(file: string): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of fs.createReadStream(file)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** The blob of one database file: records.jsonl is gzip-compressed once and kept beside it. */
async function blobFile(genDir: string, file: string): Promise<string> {
  if (file !== 'records.jsonl') return path.join(genDir, file);
  const gz = path.join(genDir, 'records.jsonl.gz');
  if (!fs.existsSync(gz)) {
    const tmp = `${gz}.tmp`;
    await pipeline(fs.createReadStream(path.join(genDir, file)), zlib.createGzip({ level: 6 }), fs.createWriteStream(tmp));
    await fsp.rename(tmp, gz);
  }
  return gz;
}

/** Push the active database under `dir` to `refText`; resolves with the manifest digest. */
export async function pushDb(dir: string, refText: string, o: ArtifactOptions): Promise<string> {
  const db = VulnDb.open(dir);
  const ref = parseRef(refText);
  if (ref.digest) throw new InvalidParameter(`cannot push to a digest reference (${refText}): give a tag`);
  const client = new RegistryClient({ host: ref.domain, auth: o.auth, insecure: o.insecure });
  o.progress({ status: `The push refers to repository [${normalizedString({ ...ref, tag: undefined })}]` });
  const layers: Descriptor[] = [];
  for (const { file, mediaType } of FILES) {
    const blob = await blobFile(db.genDir, file);
    const { digest, size } = await digestOf(blob);
    const id = digest.slice(7, 19);
    if (await client.hasBlob(ref.path, digest, 'pull,push')) {
      o.progress({ id, status: 'Layer already exists' });
    } else {
      o.progress({ id, status: 'Pushing', progressDetail: { current: 0, total: size } });
      await client.upload(ref.path, () => fs.createReadStream(blob), () => digest);
      o.progress({ id, status: 'Pushed' });
    }
    layers.push({ mediaType, digest, size, annotations: { 'org.opencontainers.image.title': path.basename(blob) } });
  }
  if (!(await client.hasBlob(ref.path, EMPTY_DIGEST, 'pull,push'))) await client.upload(ref.path, () => Readable.from([EMPTY]), () => EMPTY_DIGEST);
  const manifest: ArtifactManifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    artifactType: VULNDB_MEDIA.artifact,
    config: { mediaType: VULNDB_MEDIA.emptyConfig, digest: EMPTY_DIGEST, size: 2 },
    layers,
    annotations: {
      'org.opencontainers.image.created': db.meta.importedAt,
      'dev.berth.vulndb.records': String(db.meta.records),
      'dev.berth.vulndb.source': db.meta.source,
    },
  };
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await client.putManifest(ref.path, ref.tag, body, MEDIA.ociManifest);
  o.progress({ status: `${ref.tag}: digest: ${digest} size: ${body.length}` });
  o.progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: body.length } });
  db.close();
  return digest;
}

/** Pull the database at `refText` into `dir`: downloaded into a new generation, digests checked, the
 * index and meta validated, then switched to atomically (a failed pull leaves the old database). */
export async function pullDb(dir: string, refText: string, o: ArtifactOptions): Promise<DbMeta> {
  const ref = parseRef(refText);
  const client = new RegistryClient({ host: ref.domain, auth: o.auth, insecure: o.insecure });
  const name = normalizedString({ ...ref, tag: ref.digest ? undefined : ref.tag, digest: ref.digest });
  const fetched = await client.getManifest(ref.path, ref.digest ?? ref.tag);
  let manifest: ArtifactManifest;
  try {
    manifest = JSON.parse(fetched.body.toString('utf8')) as ArtifactManifest;
  } catch {
    throw new InvalidParameter(`${name} is not a berth vulnerability database: its manifest is not JSON`);
  }
  const kind = manifest.artifactType ?? manifest.config?.mediaType;
  if (kind !== VULNDB_MEDIA.artifact && !(Array.isArray(manifest.layers) && manifest.layers.some((l) => l.mediaType === VULNDB_MEDIA.meta))) {
    throw new InvalidParameter(`${name} is not a berth vulnerability database (artifact type ${kind ?? fetched.mediaType}, expected ${VULNDB_MEDIA.artifact})`);
  }
  o.progress({ status: `Pulling vulnerability database from ${name}` });
  const tmp = await tempGeneration(dir);
  try {
    for (const { file, mediaType } of FILES) {
      const d = manifest.layers.find((l) => l.mediaType === mediaType);
      if (!d || typeof d.digest !== 'string') throw new InvalidParameter(`${name} is not a complete vulnerability database: no ${mediaType} layer`);
      const id = d.digest.replace(/^sha256:/, '').slice(0, 12);
      o.progress({ id, status: 'Downloading', progressDetail: { current: 0, total: d.size } });
      const h = createHash('sha256');
      const hasher = new Transform({
        transform(chunk: Buffer, _e, cb) {
          h.update(chunk);
          cb(null, chunk);
        },
      });
      const out = fs.createWriteStream(path.join(tmp, file));
      if (mediaType === VULNDB_MEDIA.records) await pipeline(client.blob(ref.path, d.digest), hasher, zlib.createGunzip(), out);
      else await pipeline(client.blob(ref.path, d.digest), hasher, out);
      const got = `sha256:${h.digest('hex')}`;
      if (got !== d.digest) throw new InvalidParameter(`${name}: blob ${d.digest} arrived with digest ${got}: nothing installed, the current database is unchanged`);
      o.progress({ id, status: 'Download complete' });
    }
    const meta = JSON.parse(await fsp.readFile(path.join(tmp, 'meta.json'), 'utf8')) as DbMeta;
    if (meta.format !== DB_FORMAT) throw new InvalidParameter(`${name} holds a vulnerability database of format ${meta.format}; this berth reads format ${DB_FORMAT}`);
    const idx = await fsp.readFile(path.join(tmp, 'index.bin'));
    if (idx.subarray(0, 8).toString() !== 'BVIDX001') throw new InvalidParameter(`${name}: the database index is damaged`);
    meta.source = `${name}@${fetched.digest} (imported from ${meta.source})`;
    meta.pulledAt = new Date().toISOString();
    await fsp.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    await installGeneration(dir, tmp);
    o.progress({ status: `Digest: ${fetched.digest}` });
    o.progress({ status: `Status: Downloaded vulnerability database (${meta.records} records) from ${name}` });
    return meta;
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
