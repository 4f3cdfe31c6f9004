// Image references, parsed and normalised as Docker's distribution/reference does
// (ParseNormalizedNamed, TagNameOnly, FamiliarString, FamiliarName).
import { InvalidParameter } from '../../lib/errors.js';

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
const LEGACY_DOMAIN = 'index.docker.io';
const OFFICIAL_PREFIX = 'library/';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const NAME = `(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_ID = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** Split "host/rest" the way splitDockerDomain does. */
function splitDomain(name: string): { domain: string; path: string } {
  const i = name.indexOf('/');
  let domain: string;
  let path: string;
  const first = i < 0 ? '' : name.slice(0, i);
  if (i < 0 || (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    path = name;
  } else {
    domain = first;
    path = name.slice(i + 1);
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_PREFIX + path;
  return { domain, path };
}

/** Parse and normalise like reference.ParseNormalizedNamed ("busybox" → docker.io/library/busybox). */
export function parseNormalizedNamed(s: string): Reference {
  if (ANCHORED_ID.test(s)) {
    throw new InvalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const at = s.indexOf('@');
  const beforeDigest = at < 0 ? s : s.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const nameOnly = colon > beforeDigest.lastIndexOf('/') ? beforeDigest.slice(0, colon) : beforeDigest;
  const { domain, path } = splitDomain(nameOnly);
  if (path.toLowerCase() !== path) {
    throw new InvalidParameter(`invalid reference format: repository name (${path}) must be lowercase`);
  }
  const rest = s.slice(nameOnly.length);
  const m = REFERENCE_RE.exec(`${domain}/${path}${rest}`);
  if (!m) throw new InvalidParameter('invalid reference format');
  if (m[1]!.length > NAME_TOTAL_LENGTH_MAX) throw new InvalidParameter(`invalid reference format: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  const ref: Reference = { domain, path };
  if (m[2]) ref.tag = m[2];
  if (m[3]) {
    if (!/^sha256:[a-f0-9]{64}$/.test(m[3])) throw new InvalidParameter('invalid reference format');
    ref.digest = m[3];
  }
  return ref;
}

/** parseNormalizedNamed plus the default tag "latest" when neither tag nor digest is given. */
export function parseImageReference(s: string): Reference {
  const r = parseNormalizedNamed(s);
  if (!r.tag && !r.digest) r.tag = 'latest';
  return r;
}

function suffix(r: Reference): string {
  return (r.tag ? `:${r.tag}` : '') + (r.digest ? `@${r.digest}` : '');
}

/** "docker.io/library/busybox:latest" */
export function normalizedString(r: Reference): string {
  return `${r.domain}/${r.path}${suffix(r)}`;
}

/** "docker.io/library/busybox" → "busybox"; the name without tag or digest, familiar form. */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return `${r.domain}/${r.path}`;
  return r.path.startsWith(OFFICIAL_PREFIX) && !r.path.slice(OFFICIAL_PREFIX.length).includes('/') ? r.path.slice(OFFICIAL_PREFIX.length) : r.path;
}

/** "busybox:latest" (Docker's familiar form, as shown in RepoTags) */
export function familiarString(r: Reference): string {
  return familiarName(r) + suffix(r);
}

/** The repository part: "docker.io/library/busybox". */
export function repositoryName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** Go's path.Match for `images --filter reference=`: * and ? never cross a "/". */
function globToRegExp(pattern: string): RegExp {
  let src = '';
  for (const ch of pattern) {
    if (ch === '*') src += '[^/]*';
    else if (ch === '?') src += '[^/]';
    else src += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}

/** docker images --filter reference=PATTERN: matched against the familiar name and name:tag. */
export function matchesReferencePattern(r: Reference, pattern: string): boolean {
  const re = globToRegExp(pattern);
  const name = familiarName(r);
  return re.test(name) || re.test(familiarString(r)) || (r.tag !== undefined && re.test(`${name}:${r.tag}`));
}
