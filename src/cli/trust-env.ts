// Is content trust on? BERTH_CONTENT_TRUST=1, or DOCKER_CONTENT_TRUST=1 as docker users already set it.
// Kept apart from trust.ts so the commands that only ask this do not load the signature code.
export function contentTrustOn(env: NodeJS.ProcessEnv): boolean {
  const on = (v: string | undefined) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
  return on(env.BERTH_CONTENT_TRUST) || on(env.DOCKER_CONTENT_TRUST);
}
