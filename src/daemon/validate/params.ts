// Query parameters dockerd parses as Go values, refused with its words before anything happens.
import { InvalidParameter } from '../../lib/errors.js';
import { parseImageReference } from '../../image-spec/reference.js';

/** POST /build's `t`: every tag must be a valid name (with an optional tag), checked before the context is read. */
export function validateBuildTags(tags: readonly string[]): void {
  for (const t of tags) {
    const ref = parseImageReference(t);
    if (ref.digest) throw new InvalidParameter(`invalid reference format: tag ${JSON.stringify(t)} names a digest; give a name and a tag`);
  }
}
