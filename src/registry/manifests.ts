// Manifests as the registry sees them: which media types it stores, what a manifest refers to (blobs,
// child manifests, a subject), and which stored manifest answers a GET's Accept header.
import { MEDIA } from '../image-spec/media-types.js';
import { regError } from './errors.js';

export const MT = {
  ociManifest: MEDIA.ociManifest,
  ociIndex: MEDIA.ociIndex,
  dockerManifest: MEDIA.dockerManifest,
  dockerList: MEDIA.dockerList,
} as const;

export const MANIFEST_TYPES: readonly string[] = Object.values(MT);
const INDEX_TYPES = new Set<string>([MT.ociIndex, MT.dockerList]);
const SCHEMA1 = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);
/** OCI and Docker "foreign" layers: the registry need not have them (they carry urls). */
const NON_DISTRIBUTABLE = /(nondistributable|foreign)/;
/** The largest manifest accepted (distribution's and the OCI spec's 4 MiB). */
export const MAX_MANIFEST = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
  urls?: string[];
}

/** What a manifest points at, after validation. */
export interface ParsedManifest {
  mediaType: string;
  isIndex: boolean;
  /** Config and layers (image manifests) that must be in the repository. */
  blobs: Descriptor[];
  /** Child manifests (indexes) that must be in the repository. */
  children: Descriptor[];
  subject?: Descriptor;
  /** For the referrers API: artifactType, else the config's media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

function isDescriptor(v: unknown): v is Descriptor {
  if (!v || typeof v !== 'object') return false;
  const d = v as Record<string, unknown>;
  return typeof d.mediaType === 'string' && typeof d.digest === 'string' && typeof d.size === 'number' && Number.isInteger(d.size) && d.size >= 0;
}

function descriptors(v: unknown, what: string): Descriptor[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw regError('MANIFEST_INVALID', `manifest invalid: ${what} is not a list`);
  return v.map((d, i) => {
    if (!isDescriptor(d)) throw regError('MANIFEST_INVALID', `manifest invalid: ${what}[${i}] is not a descriptor`);
    return d;
  });
}

/** Check a manifest PUT body: JSON, a known media type (from Content-Type or its own mediaType field),
 *  the shape of that type. Throws MANIFEST_INVALID. */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    json = v as Record<string, unknown>;
  } catch (e) {
    throw regError('MANIFEST_INVALID', `manifest invalid: ${(e as Error).message}`);
  }
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const own = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  if (SCHEMA1.has(ct) || json.schemaVersion === 1) throw regError('MANIFEST_INVALID', 'manifest invalid: schema 1 manifests are not supported');
  let mediaType = MANIFEST_TYPES.includes(ct) ? ct : own;
  if (!mediaType) mediaType = Array.isArray(json.manifests) ? MT.ociIndex : MT.ociManifest;
  if (!MANIFEST_TYPES.includes(mediaType)) throw regError('MANIFEST_INVALID', `manifest invalid: unsupported media type ${mediaType}`);
  if (own !== undefined && own !== mediaType) throw regError('MANIFEST_INVALID', `manifest invalid: mediaType ${own} does not match Content-Type ${mediaType}`);
  if (json.schemaVersion !== 2) throw regError('MANIFEST_INVALID', 'manifest invalid: schemaVersion must be 2');
  const subject = json.subject === undefined ? undefined : isDescriptor(json.subject) ? json.subject : undefined;
  if (json.subject !== undefined && !subject) throw regError('MANIFEST_INVALID', 'manifest invalid: subject is not a descriptor');
  const annotations = json.annotations && typeof json.annotations === 'object' ? (json.annotations as Record<string, string>) : undefined;
  const artifactType = typeof json.artifactType === 'string' ? json.artifactType : undefined;
  if (INDEX_TYPES.has(mediaType)) {
    const children = descriptors(json.manifests, 'manifests');
    if (!Array.isArray(json.manifests)) throw regError('MANIFEST_INVALID', 'manifest invalid: an index needs a manifests list');
    return { mediaType, isIndex: true, blobs: [], children, subject, artifactType, annotations };
  }
  if (!isDescriptor(json.config)) throw regError('MANIFEST_INVALID', 'manifest invalid: config is not a descriptor');
  if (!Array.isArray(json.layers) && mediaType === MT.dockerManifest) throw regError('MANIFEST_INVALID', 'manifest invalid: layers is not a list');
  const layers = descriptors(json.layers, 'layers').filter((l) => !(NON_DISTRIBUTABLE.test(l.mediaType) && l.urls?.length));
  return {
    mediaType,
    isIndex: false,
    blobs: [json.config, ...layers],
    children: [],
    subject,
    artifactType: artifactType ?? json.config.mediaType,
    annotations,
  };
}

/** The child descriptors of a stored index (for negotiation and GC). */
export function indexChildren(body: Buffer): Descriptor[] {
  try {
    const v = JSON.parse(body.toString('utf8')) as { manifests?: unknown };
    return Array.isArray(v.manifests) ? v.manifests.filter(isDescriptor) : [];
  } catch {
    return [];
  }
}

/** Config, layers and subject of a stored image manifest (for GC). */
export function manifestRefs(body: Buffer): { blobs: string[]; children: string[]; subject?: string } {
  try {
    const v = JSON.parse(body.toString('utf8')) as { config?: unknown; layers?: unknown; manifests?: unknown; subject?: unknown };
    const blobs = [v.config, ...(Array.isArray(v.layers) ? v.layers : [])].filter(isDescriptor).map((d) => d.digest);
    const children = (Array.isArray(v.manifests) ? v.manifests : []).filter(isDescriptor).map((d) => d.digest);
    return { blobs, children, subject: isDescriptor(v.subject) ? v.subject.digest : undefined };
  } catch {
    return { blobs: [], children: [] };
  }
}

export function isIndexType(mt: string): boolean {
  return INDEX_TYPES.has(mt);
}

/** Media types named in Accept headers (parameters and q-values dropped); empty when none. */
export function acceptedTypes(accept: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const h of Array.isArray(accept) ? accept : accept ? [accept] : []) {
    for (const part of h.split(',')) {
      const t = part.split(';')[0]!.trim().toLowerCase();
      if (t) out.add(t);
    }
  }
  return out;
}

/** Does a client with these Accept types take this stored type as it is? No Accept, or a wildcard, does. */
export function accepts(types: Set<string>, mediaType: string): boolean {
  return types.size === 0 || types.has(mediaType) || types.has('*/*') || types.has('application/*');
}

/** The host platform's child of an index (distribution answers a client that cannot read a manifest
 *  list with its linux/amd64 image). */
export function pickPlatformChild(children: Descriptor[], accepted: Set<string>): Descriptor | undefined {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
  const usable = children.filter((c) => accepts(accepted, c.mediaType) && !isIndexType(c.mediaType));
  return usable.find((c) => c.platform?.os === 'linux' && c.platform.architecture === arch) ?? usable.find((c) => c.platform?.os === 'linux' && c.platform.architecture === 'amd64');
}
