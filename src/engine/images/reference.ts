// Image references, parsed and normalised exactly as Docker's distribution/reference does.
// STUB: signatures only; implementation in progress.

export interface Reference {
  /** Registry host, e.g. "docker.io", "localhost:5000". */
  domain: string;
  /** Repository path within the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  /** "sha256:<hex>" */
  digest?: string;
}

/** Parse and normalise like reference.ParseNormalizedNamed ("busybox" → docker.io/library/busybox).
 *  Throws InvalidParameter with Docker's wording for malformed input. Does not add a tag. */
export function parseNormalizedNamed(_s: string): Reference {
  throw new Error('not implemented');
}

/** parseNormalizedNamed plus the default tag "latest" when neither tag nor digest is given. */
export function parseImageReference(_s: string): Reference {
  throw new Error('not implemented');
}

/** "docker.io/library/busybox:latest" */
export function normalizedString(_r: Reference): string {
  throw new Error('not implemented');
}

/** "busybox:latest" (Docker's familiar form, as shown in RepoTags) */
export function familiarString(_r: Reference): string {
  throw new Error('not implemented');
}

/** "docker.io/library/busybox" → "busybox"; name without tag or digest, familiar form. */
export function familiarName(_r: Reference): string {
  throw new Error('not implemented');
}
