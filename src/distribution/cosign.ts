// cosign's key-based signature format, shared by the CLI (which signs, so a private key never leaves the
// user's process) and berthd (which pushes signatures and verifies them for the trust policy):
// - the payload: "simple signing" JSON naming the repository and the manifest digest, byte for byte as
//   cosign's Go code marshals it;
// - the signature: ECDSA P-256 over the payload's bytes (SHA-256), ASN.1 DER, base64 in the layer's
//   annotation dev.cosignproject.cosign/signature;
// - where it is stored: an OCI manifest under the tag `sha256-<hex>.sig` in the image's repository (what
//   cosign reads), and the same layer in an OCI 1.1 referrer (`subject` = the image manifest) when the
//   registry has the referrers API.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { BerthError, InvalidParameter, NotFound } from '../lib/errors.js';
import { MEDIA } from '../image-spec/media-types.js';
import { normalizedName, type Reference } from '../image-spec/reference.js';
import { readAll, RegistryError, type RegistryClient } from './registry.js';

export const SIMPLESIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const PAYLOAD_TYPE = 'cosign container image signature';
const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY_JSON = Buffer.from('{}');

/** A descriptor as the OCI image spec writes it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** The parsed simple-signing payload (the fields verification needs). */
export interface SigningPayload {
  dockerReference: string;
  manifestDigest: string;
  type: string;
  optional: Record<string, unknown> | null;
}

/** One signature as found in a registry: the payload's exact bytes and the base64 signature over them. */
export interface FoundSignature {
  payload: Buffer;
  signature: string;
  /** Where it was found: "tag sha256-….sig" or "referrer sha256:…". */
  source: string;
}

function sha256(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The repository as cosign names it in the payload: Docker Hub as index.docker.io (go-containerregistry's name). */
export function payloadReference(ref: Reference): string {
  return ref.domain === 'docker.io' ? `index.docker.io/${ref.path}` : normalizedName(ref);
}

/** The same repository, however it is spelled (docker.io and index.docker.io are one registry). */
function sameRepository(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/^(index\.docker\.io|registry-1\.docker\.io)\//, 'docker.io/');
  return norm(a) === norm(b);
}

/** Go's json.Marshal escaping of a string (HTML characters included, as cosign's payload has them). */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Go marshals map keys sorted; a nil map is null. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(goValue).join(',') + ']';
  const o = v as Record<string, unknown>;
  return '{' + Object.keys(o).sort().map((k) => goString(k) + ':' + goValue(o[k])).join(',') + '}';
}

/**
 * The payload bytes cosign signs: `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},
 * "type":"cosign container image signature"},"optional":…}` (optional is null without annotations).
 */
export function buildPayload(dockerReference: string, manifestDigest: string, optional?: Record<string, unknown>): Buffer {
  if (!/^sha256:[a-f0-9]{64}$/.test(manifestDigest)) throw new InvalidParameter(`invalid manifest digest "${manifestDigest}": expected sha256:<64 hex digits>`);
  const critical = `{"identity":{"docker-reference":${goString(dockerReference)}},"image":{"docker-manifest-digest":${goString(manifestDigest)}},"type":${goString(PAYLOAD_TYPE)}}`;
  return Buffer.from(`{"critical":${critical},"optional":${goValue(optional && Object.keys(optional).length ? optional : null)}}`);
}

/** Read a payload; anything that is not a cosign container image signature payload is refused. */
export function parsePayload(bytes: Buffer): SigningPayload {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InvalidParameter('the signature payload is not JSON');
  }
  const c = (v as { critical?: { identity?: { 'docker-reference'?: unknown }; image?: { 'docker-manifest-digest'?: unknown }; type?: unknown } } | null)?.critical;
  const dockerReference = c?.identity?.['docker-reference'];
  const manifestDigest = c?.image?.['docker-manifest-digest'];
  if (typeof dockerReference !== 'string' || typeof manifestDigest !== 'string' || typeof c?.type !== 'string') {
    throw new InvalidParameter('the signature payload lacks critical.identity.docker-reference, critical.image.docker-manifest-digest or critical.type');
  }
  if (c.type.toLowerCase() !== PAYLOAD_TYPE) throw new InvalidParameter(`the signature payload's type is "${c.type}", not "${PAYLOAD_TYPE}"`);
  const optional = (v as { optional?: unknown }).optional;
  return { dockerReference, manifestDigest, type: c.type, optional: optional && typeof optional === 'object' ? (optional as Record<string, unknown>) : null };
}

/** The tag cosign stores an image's signatures under: sha256:abc… → sha256-abc….sig */
export function signatureTag(digest: string): string {
  return digest.replace(':', '-') + '.sig';
}

// ---- keys and signatures ----

/** ECDSA P-256 / SHA-256 over the payload bytes, ASN.1 DER, base64 (cosign's annotation value). */
export function signPayload(privateKey: KeyObject, payload: Buffer): string {
  return sign('sha256', payload, { key: privateKey, dsaEncoding: 'der' }).toString('base64');
}

export function verifyPayload(publicKey: KeyObject, payload: Buffer, signatureB64: string): boolean {
  const sig = Buffer.from(signatureB64, 'base64');
  if (!sig.length) return false;
  try {
    return verify('sha256', payload, { key: publicKey, dsaEncoding: 'der' }, sig);
  } catch {
    return false;
  }
}

/** A public key from PEM (SubjectPublicKeyInfo): ECDSA P-256 only, as cosign's keys are. */
export function loadPublicKey(pem: string | Buffer, name: string): KeyObject {
  const text = pem.toString();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new InvalidParameter(`${name} is a private key: verification takes the public key (NAME.pub)`);
  if (!/-----BEGIN PUBLIC KEY-----/.test(text)) throw new InvalidParameter(`${name} is not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as berth trust key generate and cosign write)`);
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (e) {
    throw new InvalidParameter(`${name}: cannot read the public key: ${(e as Error).message}`);
  }
  checkKeyType(key, name);
  return key;
}

export function checkKeyType(key: KeyObject, name: string): void {
  const type = key.asymmetricKeyType;
  if (type !== 'ec') throw new InvalidParameter(`${name} is ${type === 'rsa' ? 'an RSA' : `an ${String(type).toUpperCase()}`} key: berth signs and verifies with ECDSA P-256 keys only (berth trust key generate NAME makes one)`);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve !== 'prime256v1') throw new InvalidParameter(`${name} is an ECDSA key on curve ${curve}: berth signs and verifies with P-256 (prime256v1) keys only`);
}

// ---- manifests ----

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

/** The config cosign writes for a signature image: an OCI config whose one "layer" is the payload. */
function signatureConfig(layers: Descriptor[]): Buffer {
  return json({
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
    os: '',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    config: {},
  });
}

function signatureLayer(payload: Buffer, signature: string): Descriptor {
  return { mediaType: SIMPLESIGNING_MEDIA_TYPE, size: payload.length, digest: sha256(payload), annotations: { [SIGNATURE_ANNOTATION]: signature } };
}

async function pushBlob(client: RegistryClient, repo: string, data: Buffer): Promise<void> {
  const digest = sha256(data);
  if (await client.hasBlob(repo, digest, 'pull,push')) return;
  const { Readable } = await import('node:stream');
  await client.upload(repo, () => Readable.from([data]), () => digest);
}

/** Does the registry answer the OCI 1.1 referrers API for this repository? (distribution 2.8 does not.) */
export async function hasReferrersApi(client: RegistryClient, repo: string, digest: string): Promise<boolean> {
  try {
    const res = await client.request('GET', `/v2/${repo}/referrers/${digest}`, { repo, headers: { Accept: MEDIA.ociIndex } });
    await readAll(res);
    return String(res.headers['content-type'] ?? '').startsWith(MEDIA.ociIndex);
  } catch (e) {
    if (e instanceof NotFound || (e instanceof RegistryError && [400, 404, 405].includes(e.registryStatus)) || e instanceof InvalidParameter) return false;
    throw e;
  }
}

export interface PushedSignature {
  /** The signature manifest's tag and digest (cosign's place). */
  tag: string;
  tagDigest: string;
  /** The referrer manifest's digest, when the registry has the referrers API. */
  referrer?: string;
}

/**
 * Store a signature beside the image `subject` in `repo`: appended to the `sha256-<hex>.sig` manifest
 * (kept once: the same signature again is not added twice), and as a referrer where the registry has the API.
 */
export async function pushSignature(client: RegistryClient, repo: string, subject: Descriptor, payload: Buffer, signature: string): Promise<PushedSignature> {
  const layer = signatureLayer(payload, signature);
  await pushBlob(client, repo, payload);
  const tag = signatureTag(subject.digest);
  let layers: Descriptor[] = [];
  try {
    const existing = JSON.parse((await client.getManifest(repo, tag)).body.toString()) as { layers?: Descriptor[] };
    layers = (existing.layers ?? []).filter((l) => !(l.digest === layer.digest && l.annotations?.[SIGNATURE_ANNOTATION] === signature));
  } catch (e) {
    if (!(e instanceof NotFound)) throw e;
  }
  layers.push(layer);
  const config = signatureConfig(layers);
  await pushBlob(client, repo, config);
  const manifest = json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, size: config.length, digest: sha256(config) }, layers });
  const tagDigest = await client.putManifest(repo, tag, manifest, MEDIA.ociManifest);
  let referrer: string | undefined;
  if (await hasReferrersApi(client, repo, subject.digest)) {
    await pushBlob(client, repo, EMPTY_JSON);
    const refManifest = json({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      artifactType: SIGNATURE_ARTIFACT_TYPE,
      config: { mediaType: EMPTY_MEDIA_TYPE, size: EMPTY_JSON.length, digest: sha256(EMPTY_JSON) },
      layers: [layer],
      subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    });
    referrer = await client.putManifest(repo, sha256(refManifest), refManifest, MEDIA.ociManifest);
  }
  return { tag, tagDigest, referrer };
}

/** The image manifest's descriptor for a tag or digest (the top-level manifest: an index stays an index, as cosign signs it). */
export async function resolveSubject(client: RegistryClient, ref: Reference): Promise<Descriptor> {
  const m = await client.getManifest(ref.path, ref.digest ?? ref.tag ?? 'latest');
  return { mediaType: m.mediaType, digest: m.digest, size: m.body.length };
}

/** Every signature stored for `digest` in `repo`: the .sig tag's layers, then the referrers'. */
export async function fetchSignatures(client: RegistryClient, repo: string, digest: string): Promise<FoundSignature[]> {
  const out: FoundSignature[] = [];
  const seen = new Set<string>();
  const fromManifest = async (body: Buffer, source: string) => {
    let m: { layers?: Descriptor[] };
    try {
      m = JSON.parse(body.toString()) as { layers?: Descriptor[] };
    } catch {
      return;
    }
    for (const l of Array.isArray(m.layers) ? m.layers : []) {
      const signature = l?.annotations?.[SIGNATURE_ANNOTATION];
      if (l?.mediaType !== SIMPLESIGNING_MEDIA_TYPE || typeof signature !== 'string' || typeof l.digest !== 'string') continue;
      if (seen.has(l.digest + signature)) continue;
      seen.add(l.digest + signature);
      const payload = await readAll(client.blob(repo, l.digest));
      // A payload that is not what its descriptor names is not trusted, whatever it says.
      if (sha256(payload) !== l.digest) continue;
      out.push({ payload, signature, source });
    }
  };
  const tag = signatureTag(digest);
  try {
    await fromManifest((await client.getManifest(repo, tag)).body, `tag ${tag}`);
  } catch (e) {
    if (!(e instanceof NotFound)) throw e;
  }
  if (await hasReferrersApi(client, repo, digest)) {
    const res = await client.request('GET', `/v2/${repo}/referrers/${digest}?artifactType=${encodeURIComponent(SIGNATURE_ARTIFACT_TYPE)}`, { repo, headers: { Accept: MEDIA.ociIndex } });
    const index = JSON.parse((await readAll(res)).toString()) as { manifests?: Descriptor[] };
    for (const d of index.manifests ?? []) {
      if (d.artifactType !== SIGNATURE_ARTIFACT_TYPE) continue;
      await fromManifest((await client.getManifest(repo, d.digest)).body, `referrer ${d.digest}`);
    }
  }
  return out;
}

export interface TrustedKey {
  /** File name or label, for messages. */
  name: string;
  key: KeyObject;
}

export interface Verified {
  digest: string;
  /** The key whose signature verified, and where the signature was. */
  key: string;
  source: string;
  payload: SigningPayload;
}

/**
 * Check the signatures of `digest` (an image of `ref`'s repository) against `keys`: one must verify over its
 * payload's exact bytes, and that payload must name this digest and this repository. Throws an error naming
 * the reference, the keys tried and why each signature failed.
 */
export function checkSignatures(ref: Reference, digest: string, found: FoundSignature[], keys: TrustedKey[]): Verified {
  const shown = `${normalizedName(ref)}${ref.tag ? ':' + ref.tag : ''}@${digest}`;
  const tried = keys.map((k) => k.name).join(', ') || 'none';
  if (!keys.length) throw new InvalidParameter(`no trusted keys to verify ${shown} with`);
  if (!found.length) throw new NotTrusted(`${shown} is not signed: no signatures found (keys tried: ${tried})`);
  const reasons: string[] = [];
  for (const s of found) {
    const key = keys.find((k) => verifyPayload(k.key, s.payload, s.signature));
    if (!key) {
      reasons.push(`${s.source}: signature does not verify with any trusted key`);
      continue;
    }
    let payload: SigningPayload;
    try {
      payload = parsePayload(s.payload);
    } catch (e) {
      reasons.push(`${s.source}: ${(e as Error).message}`);
      continue;
    }
    if (payload.manifestDigest !== digest) {
      reasons.push(`${s.source}: signed by ${key.name} but for another digest (${payload.manifestDigest})`);
      continue;
    }
    if (!sameRepository(payload.dockerReference, normalizedName(ref)) && !sameRepository(payload.dockerReference, payloadReference(ref))) {
      reasons.push(`${s.source}: signed by ${key.name} but for another image (${payload.dockerReference})`);
      continue;
    }
    return { digest, key: key.name, source: s.source, payload };
  }
  throw new NotTrusted(`${shown} has no valid signature from a trusted key (keys tried: ${tried}): ${reasons.join('; ')}`);
}

/** Fetch and check: the verified signature, or an error naming the reference and the keys tried. */
export async function verifyImageSignatures(client: RegistryClient, ref: Reference, digest: string, keys: TrustedKey[]): Promise<Verified> {
  return checkSignatures(ref, digest, await fetchSignatures(client, ref.path, digest), keys);
}

/** An image refused by the trust policy (403, as the policy forbids it; nothing was stored). */
export class NotTrusted extends BerthError {
  override readonly status = 403;
}

/** `createPublicKey` of a PEM, for callers holding key text from a request (the CLI sends its trusted keys). */
export function publicKeysFromPem(entries: { name: string; pem: string }[]): TrustedKey[] {
  return entries.map((e) => ({ name: e.name, key: loadPublicKey(e.pem, e.name) }));
}
