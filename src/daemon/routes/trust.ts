// berth's signature endpoints (berth trust sign|verify are thin clients of them) and the X-Berth-Trust header
// with which a client whose user turned content trust on sends its trusted public keys with a pull or a build.
//   POST /trust/resolve     {reference}                              → the digest to sign
//   POST /trust/signatures  {reference, digest, payload, signature}  → stored beside the image
//   POST /trust/verify      {reference, keys: [{name, pem}]}         → the verified digest, or 403
import type { IncomingHttpHeaders } from 'node:http';
import { decodeRegistryAuth, type AuthConfig } from '../../distribution/auth.js';
import { publicKeysFromPem, type PushedSignature, type TrustedKey } from '../../distribution/cosign.js';
import type { ResolvedImage } from '../../engine/trust/service.js';
import { InvalidParameter } from '../../lib/errors.js';
import { readBody, sendJson, type Router } from '../http.js';
import { anyValue } from '../../api/go-json.js';

/** What the signature endpoints need from the trust service. */
export interface TrustBackend {
  resolve(reference: string, auth: AuthConfig): Promise<ResolvedImage>;
  storeSignature(body: { reference: string; digest: string; payload: string; signature: string }, auth: AuthConfig): Promise<PushedSignature>;
  verify(body: { reference: string; keys: { name: string; pem: string }[] }, auth: AuthConfig): Promise<ResolvedImage & { Key: string; Source: string }>;
}

export const TRUST_HEADER = 'x-berth-trust';

/** The client's trusted keys (base64 JSON [{name, pem}]); undefined when the client did not ask for trust. */
export function trustKeysFrom(headers: IncomingHttpHeaders): TrustedKey[] | undefined {
  const h = headers[TRUST_HEADER];
  if (typeof h !== 'string' || !h) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(Buffer.from(h, 'base64').toString('utf8'));
  } catch {
    throw new InvalidParameter('invalid X-Berth-Trust header: expected base64-encoded JSON [{"name": …, "pem": …}]');
  }
  if (!Array.isArray(entries) || !entries.length || !entries.every((e) => typeof e?.name === 'string' && typeof e?.pem === 'string')) {
    throw new InvalidParameter('invalid X-Berth-Trust header: expected a non-empty list of {"name", "pem"} public keys');
  }
  return publicKeysFromPem(entries as { name: string; pem: string }[]);
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || !v) throw new InvalidParameter(`${name}: a non-empty string is required`);
  return v;
}

export function trustRoutes(r: Router, trust: TrustBackend): void {
  const auth = (h: IncomingHttpHeaders) => decodeRegistryAuth(h['x-registry-auth'] as string | undefined);
  r.on('POST', '/trust/resolve', async (ctx) => {
    const b = await readBody<Record<string, unknown>>(ctx, anyValue);
    sendJson(ctx, 200, await trust.resolve(str(b?.reference, 'reference'), auth(ctx.req.headers)));
  });
  r.on('POST', '/trust/signatures', async (ctx) => {
    const b = await readBody<Record<string, unknown>>(ctx, anyValue);
    const body = { reference: str(b?.reference, 'reference'), digest: str(b?.digest, 'digest'), payload: str(b?.payload, 'payload'), signature: str(b?.signature, 'signature') };
    const pushed = await trust.storeSignature(body, auth(ctx.req.headers));
    sendJson(ctx, 201, { Tag: pushed.tag, TagDigest: pushed.tagDigest, Referrer: pushed.referrer ?? null });
  });
  r.on('POST', '/trust/verify', async (ctx) => {
    const b = await readBody<Record<string, unknown>>(ctx, anyValue);
    const keys = b?.keys;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k?.name === 'string' && typeof k?.pem === 'string')) throw new InvalidParameter('keys: expected a list of {"name", "pem"} public keys');
    sendJson(ctx, 200, await trust.verify({ reference: str(b?.reference, 'reference'), keys: keys as { name: string; pem: string }[] }, auth(ctx.req.headers)));
  });
}
