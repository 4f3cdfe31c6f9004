// .dockerignore with Docker's exact rules (`!` exceptions, `**`, leading "/" and "./" ignored, comments),
// through @balena/dockerignore, a port of moby's patternmatcher. The Dockerfile and .dockerignore are
// always sent, as the docker CLI does, but never land in an image through COPY . unless not ignored.
import * as dockerignoreModule from '@balena/dockerignore';

// CommonJS with an ES-style default export: the function is `default` (or `default.default` under ESM interop).
const mod = dockerignoreModule as unknown as { default: typeof dockerignoreModule.default & { default?: typeof dockerignoreModule.default } };
const ignore = mod.default.default ?? mod.default;

export type IgnoreFilter = (relPath: string) => boolean;

/** A predicate: true when the path (relative, "/"-separated) is excluded from the context. */
export function dockerignore(text: string | undefined): IgnoreFilter {
  if (!text) return () => false;
  const ig = ignore().add(text.split(/\r?\n/));
  return (p) => p !== '' && p !== '.' && ig.ignores(p);
}
