// What the registry accepts as repository names, tags and digests: distribution/reference's grammar
// (the same rules berth's image references use, src/engine/images/reference.ts), checked per request.
import { parseReference } from '../image-spec/reference.js';
import { regError } from './errors.js';

const NAME_CHARS = /^[a-z0-9._/-]+$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A repository name as distribution's router and reference.WithName take it: path components of
 *  lowercase alphanumerics joined by `.`, `_`, `__` or dashes, separated by `/`, at most 255 characters. */
export function checkName(name: string): void {
  if (!NAME_CHARS.test(name)) throw regError('NAME_INVALID', 'invalid repository name', { name });
  try {
    const r = parseReference(name);
    if (r.tag !== undefined || r.digest !== undefined) throw new Error('not a bare name');
  } catch (e) {
    throw regError('NAME_INVALID', 'invalid repository name', { name, reason: (e as Error).message });
  }
}

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

/** A digest in the request: sha256 is the algorithm the store keeps; others are refused clearly. */
export function checkDigest(d: string): string {
  if (SHA256_RE.test(d)) return d;
  if (DIGEST_RE.test(d)) {
    const alg = d.slice(0, d.indexOf(':'));
    if (alg !== 'sha256') throw regError('DIGEST_INVALID', `unsupported digest algorithm: ${alg}`, { digest: d });
  }
  throw regError('DIGEST_INVALID', 'invalid digest', { digest: d });
}

export function isDigestLike(s: string): boolean {
  return s.includes(':');
}
