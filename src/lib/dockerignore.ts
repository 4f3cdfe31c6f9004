// .dockerignore with Docker's exact rules (`!` exceptions, `**`, leading "/" and "./" ignored, comments),
// through @balena/dockerignore, a port of moby's patternmatcher. The Dockerfile and .dockerignore are
// always sent, as the docker CLI does, but never land in an image through COPY . unless not ignored.
import type * as dockerignoreModule from '@balena/dockerignore';

export type IgnoreFilter = (relPath: string) => boolean;

/** A predicate: true when the path (relative, "/"-separated) is excluded from the context. The library is
 *  loaded only when there are rules: it costs the CLI's start-up several milliseconds. */
export async function dockerignore(text: string | undefined): Promise<IgnoreFilter> {
  if (!text) return () => false;
  // CommonJS with an ES-style default export: the function is `default` (or `default.default` under ESM interop).
  const mod = (await import('@balena/dockerignore')) as unknown as { default: typeof dockerignoreModule.default & { default?: typeof dockerignoreModule.default } };
  const ignore = mod.default.default ?? mod.default;
  const ig = ignore().add(text.split(/\r?\n/));
  return (p) => p !== '' && p !== '.' && ig.ignores(p);
}
