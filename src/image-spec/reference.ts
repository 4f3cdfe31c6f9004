// Image references, parsed and normalised exactly as Docker's distribution/reference does
// (ParseNormalizedNamed, TagNameOnly, FamiliarString, FamiliarName, FamiliarMatch).

import { InvalidParameter } from '../lib/errors.js';

export interface Reference {
  /** Registry host, e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path within the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  /** "sha256:<hex>" */
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
const NAME_MAX = 255;

// The grammar of distribution/reference's regexp.go.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])`;
const DOMAIN_AND_PORT = `${HOST}(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME}`;

const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_NAME_RE = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

/** Hex lengths of the algorithms go-digest registers. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's Digest.Validate, with its error wording. */
export function validateDigest(d: string): void {
  const colon = d.indexOf(':');
  if (colon <= 0 || colon === d.length - 1) throw new InvalidParameter('invalid checksum digest format');
  const alg = d.slice(0, colon);
  const hex = d.slice(colon + 1);
  const len = DIGEST_HEX_LENGTH[alg];
  if (len === undefined) throw new InvalidParameter('unsupported digest algorithm');
  if (hex.length !== len) throw new InvalidParameter('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(hex)) throw new InvalidParameter('invalid checksum digest format');
}

/** reference.Parse: the strict grammar, no normalisation. */
export function parseReference(s: string): Reference {
  if (s === '') throw new InvalidParameter('repository name must have at least one component');
  const m = REFERENCE_RE.exec(s);
  if (!m) {
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE_RE.test(lower)) throw new InvalidParameter('repository name must be lowercase');
    throw new InvalidParameter('invalid reference format');
  }
  const [, name = '', tag, digest] = m;
  const nm = ANCHORED_NAME_RE.exec(name);
  const ref: Reference = { domain: nm?.[1] ?? '', path: nm?.[2] ?? name };
  if (ref.path.length > NAME_MAX) {
    throw new InvalidParameter(`repository name must not be more than ${NAME_MAX} characters`);
  }
  if (tag) ref.tag = tag;
  if (digest) {
    validateDigest(digest);
    ref.digest = digest;
  }
  return ref;
}

/** splitDockerDomain: the first component is a registry when it looks like a host. */
function splitDockerDomain(name: string): { domain: string; remainder: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_PREFIX + name };
  const first = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain = DEFAULT_DOMAIN;
  let remainder = name;
  if (first === LEGACY_DEFAULT_DOMAIN) {
    remainder = rest;
  } else if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first) {
    domain = first;
    remainder = rest;
  }
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_PREFIX + remainder;
  return { domain, remainder };
}

/** Parse and normalise like reference.ParseNormalizedNamed ("busybox" → docker.io/library/busybox).
 *  Throws InvalidParameter with Docker's wording for malformed input. Does not add a tag. */
export function parseNormalizedNamed(s: string): Reference {
  if (IDENTIFIER_RE.test(s)) {
    throw new InvalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep >= 0 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw new InvalidParameter(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseReference(`${domain}/${remainder}`);
}

/** reference.TagNameOnly: add "latest" when neither tag nor digest is given. */
export function tagNameOnly(r: Reference): Reference {
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: DEFAULT_TAG } : r;
}

/** parseNormalizedNamed plus the default tag "latest" when neither tag nor digest is given. */
export function parseImageReference(s: string): Reference {
  return tagNameOnly(parseNormalizedNamed(s));
}

/** reference.WithTag: same repository, this tag (digest dropped). */
export function withTag(r: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw new InvalidParameter('invalid tag format');
  return { domain: r.domain, path: r.path, tag };
}

/** reference.WithDigest: same repository, this digest (tag kept, as distribution does). */
export function withDigest(r: Reference, digest: string): Reference {
  validateDigest(digest);
  return { ...r, digest };
}

/** Repository name without tag or digest: "docker.io/library/busybox". */
export function normalizedName(r: Reference): string {
  return r.domain ? `${r.domain}/${r.path}` : r.path;
}

function withSuffix(name: string, r: Reference): string {
  return name + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** "docker.io/library/busybox:latest" */
export function normalizedString(r: Reference): string {
  return withSuffix(normalizedName(r), r);
}

/** "docker.io/library/busybox" → "busybox"; name without tag or digest, familiar form. */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return normalizedName(r);
  if (r.path.startsWith(OFFICIAL_PREFIX)) {
    const rest = r.path.slice(OFFICIAL_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return r.path;
}

/** "busybox:latest" (Docker's familiar form, as shown in RepoTags) */
export function familiarString(r: Reference): string {
  return withSuffix(familiarName(r), r);
}

/** A full or short image ID ("sha256:<64 hex>", 64 hex, or a hex prefix) rather than a name. */
export function isImageIdLike(s: string): boolean {
  return /^sha256:[a-f0-9]{1,64}$/.test(s) || /^[a-f0-9]{1,64}$/.test(s);
}

/** A full image ID: "sha256:<64 hex>" or the 64 hex alone. */
export function isFullImageId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{64}$/.test(s);
}

/** `docker images --filter reference=<pattern>`: reference.FamiliarMatch, i.e. Go's path.Match
 *  against the familiar string ("busybox:latest"), then the familiar name ("busybox"). */
export function matchesReferencePattern(r: Reference, pattern: string): boolean {
  return pathMatch(pattern, familiarString(r)) || pathMatch(pattern, familiarName(r));
}

/** Go's path.Match: "*" and "?" never cross "/", "[a-z]" / "[^...]" classes, "\\" escapes.
 *  A malformed pattern matches nothing (Go returns ErrBadPattern, which docker ignores). */
export function pathMatch(pattern: string, name: string): boolean {
  const re = globToRegExp(pattern);
  return re !== undefined && re.test(name);
}

function globToRegExp(pattern: string): RegExp | undefined {
  let src = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else if (c === '\\') {
      const next = chars[++i];
      if (next === undefined) return undefined;
      src += escapeRe(next);
    } else if (c === '[') {
      const cls = parseClass(chars, i + 1);
      if (!cls) return undefined;
      src += cls.src;
      i = cls.end;
    } else src += c === '-' ? c : escapeRe(c); // outside a class "-" is literal, and "\-" is invalid with the u flag
  }
  return new RegExp(`^${src}$`, 'u');
}

/** A "[...]" class starting after "["; returns the regexp source and the index of "]". */
function parseClass(chars: string[], start: number): { src: string; end: number } | undefined {
  let i = start;
  let negate = false;
  if (chars[i] === '^') {
    negate = true;
    i++;
  }
  const ranges: string[] = [];
  const one = (): string | undefined => {
    let c = chars[i++];
    if (c === '\\') c = chars[i++];
    if (c === undefined || c === '-' || c === ']') return undefined;
    return c;
  };
  while (chars[i] !== ']' || ranges.length === 0) {
    if (i >= chars.length) return undefined;
    const lo = one();
    if (lo === undefined) return undefined;
    let hi = lo;
    if (chars[i] === '-') {
      i++;
      const h = one();
      if (h === undefined || h < lo) return undefined;
      hi = h;
    }
    ranges.push(lo === hi ? escapeRe(lo) : `${escapeRe(lo)}-${escapeRe(hi)}`);
  }
  return { src: `[${negate ? '^' : ''}${ranges.join('')}]`, end: i };
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}
