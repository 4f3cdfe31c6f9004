// Content trust on the CLI's side. BERTH_CONTENT_TRUST=1 (or DOCKER_CONTENT_TRUST=1) turns it on; then:
// - pull and build send the trusted public keys to berthd (X-Berth-Trust), which verifies the digest a tag
//   resolves to before storing anything and stores exactly that digest;
// - run and create of a tag ask berthd to verify it first and use `repo@digest` (pulled, then tagged, when
//   missing), as the docker CLI does with Notary;
// - push signs what it pushed with BERTH_TRUST_KEY.
// Trusted keys: BERTH_TRUST_KEYS (files or directories, ':'-separated), else ~/.berth/trust/*.pub.
// Private keys are opened here, in the CLI: they never travel to berthd.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KeyObject } from 'node:crypto';
import { buildPayload, signPayload } from '../distribution/cosign.js';
import { loadPrivateKey, needsPassphrase } from '../distribution/signing-keys.js';
import { normalizedName, normalizedString, parseNormalizedNamed } from '../image-spec/reference.js';
import { StatusError, writeOut, type Context } from './command.js';
import { encodeRegistryAuth, getCredentials } from '../client/credentials.js';
import { contentTrustOn } from './trust-env.js';

function authHeader(ctx: Context, host: string): Record<string, string> {
  return { 'X-Registry-Auth': encodeRegistryAuth(getCredentials(ctx.env, host)) };
}

export { contentTrustOn };

export function trustDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.HOME || os.homedir(), '.berth', 'trust');
}

/** The trusted public keys' PEM text, by file name. */
export function trustedKeys(env: NodeJS.ProcessEnv): { name: string; pem: string }[] {
  const sources = env.BERTH_TRUST_KEYS ? env.BERTH_TRUST_KEYS.split(':').filter(Boolean) : [trustDir(env)];
  const files: string[] = [];
  for (const s of sources) {
    if (!existsSync(s)) {
      if (env.BERTH_TRUST_KEYS) throw new StatusError(`BERTH_TRUST_KEYS names ${s}, which does not exist`, 1);
      continue;
    }
    if (statSync(s).isDirectory()) files.push(...readdirSync(s).filter((f) => f.endsWith('.pub')).sort().map((f) => path.join(s, f)));
    else files.push(s);
  }
  if (!files.length) {
    throw new StatusError(
      `content trust is on (BERTH_CONTENT_TRUST/DOCKER_CONTENT_TRUST) but there are no trusted keys: put public keys (NAME.pub) in ${trustDir(env)} or name them in BERTH_TRUST_KEYS`,
      1,
    );
  }
  return files.map((f) => ({ name: f, pem: readFileSync(f, 'utf8') }));
}

/** The X-Berth-Trust header for a pull or a build, when content trust is on. */
export function trustHeader(ctx: Context, on = contentTrustOn(ctx.env)): Record<string, string> {
  if (!on) return {};
  return { 'X-Berth-Trust': Buffer.from(JSON.stringify(trustedKeys(ctx.env))).toString('base64') };
}

/** A passphrase: BERTH_PASSWORD (or cosign's COSIGN_PASSWORD), else asked on the terminal without echo. */
export async function passphrase(ctx: Context, prompt: string, confirm = false): Promise<string> {
  const fromEnv = ctx.env.BERTH_PASSWORD ?? ctx.env.COSIGN_PASSWORD;
  if (fromEnv !== undefined) return fromEnv;
  if (!ctx.stdin.isTTY) throw new StatusError('a passphrase is needed: set BERTH_PASSWORD, or run in a terminal to be asked', 1);
  const first = await readSecret(ctx, prompt);
  if (confirm && (await readSecret(ctx, prompt.replace(/:\s*$/, ' again: '))) !== first) throw new StatusError('the passphrases do not match', 1);
  return first;
}

/** One line from the terminal, not echoed. */
async function readSecret(ctx: Context, prompt: string): Promise<string> {
  ctx.stderr.write(prompt);
  const stdin = ctx.stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(resolve, text);
          if (ch === '\u0003') return done(reject, new StatusError('interrupted', 130));
          if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
          else text += ch;
        }
      };
      const done = <T>(f: (v: T) => void, v: T) => {
        stdin.off('data', onData);
        f(v);
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    ctx.stderr.write('\n');
  }
}

/** Open a private key file, asking for its passphrase when it is encrypted. */
export async function openPrivateKey(ctx: Context, file: string): Promise<KeyObject> {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new StatusError(`cannot read key ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 1);
  }
  const pass = needsPassphrase(pem) ? await passphrase(ctx, `Enter password for private key ${file}: `) : '';
  try {
    return loadPrivateKey(pem, pass, file);
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
}

export interface Resolved {
  Reference: string;
  Digest: string;
  DockerReference: string;
}

/** Sign what `ref` names now in its registry and store the signature beside it (through berthd). */
export async function signReference(ctx: Context, key: KeyObject, ref: string, annotations?: Record<string, string>): Promise<Resolved & { Tag: string; Referrer: string | null }> {
  const named = parseNormalizedNamed(ref);
  const headers = authHeader(ctx, named.domain);
  const resolved = await ctx.client().json<Resolved>({ method: 'POST', path: '/trust/resolve', body: { reference: ref }, headers });
  const payload = buildPayload(resolved.DockerReference, resolved.Digest, annotations);
  const signature = signPayload(key, payload);
  const stored = await ctx.client().json<{ Tag: string; Referrer: string | null }>({
    method: 'POST',
    path: '/trust/signatures',
    body: { reference: ref, digest: resolved.Digest, payload: payload.toString('base64'), signature },
    headers,
  });
  return { ...resolved, ...stored };
}

export async function verifyReference(ctx: Context, ref: string, keys: { name: string; pem: string }[]): Promise<Resolved & { Key: string; Source: string }> {
  const named = parseNormalizedNamed(ref);
  return ctx.client().json({ method: 'POST', path: '/trust/verify', body: { reference: ref, keys }, headers: authHeader(ctx, named.domain) });
}

/**
 * run/create with content trust: a tag is verified and replaced by `repo@digest`; `pulled` tags the pinned
 * image with the tag after a pull (docker's "Tagging … as …"). A digest or an image ID is used as it is.
 */
export async function pinTrusted(ctx: Context, image: string): Promise<{ pinned: string; tagAfterPull: () => Promise<void> } | undefined> {
  if (/^(sha256:)?[a-f0-9]{12,64}$/.test(image)) return undefined;
  let named;
  try {
    named = parseNormalizedNamed(image);
  } catch {
    return undefined; // the create itself reports the bad reference
  }
  if (named.digest) return undefined;
  const tag = named.tag ?? 'latest';
  const tagged = normalizedString({ ...named, tag });
  const v = await verifyReference(ctx, tagged, trustedKeys(ctx.env));
  const pinned = `${normalizedName(named)}@${v.Digest}`;
  return {
    pinned,
    tagAfterPull: async () => {
      await ctx.client().json({ method: 'POST', path: `/images/${pinned}/tag`, query: { repo: normalizedName(named), tag } });
      await writeOut(ctx.stderr, `Tagging ${pinned} as ${tagged}\n`);
    },
  };
}

/** push with content trust: the key to sign with (BERTH_TRUST_KEY), opened before anything is pushed. */
export async function pushSigningKey(ctx: Context): Promise<{ key: KeyObject; file: string }> {
  const file = ctx.env.BERTH_TRUST_KEY;
  if (!file) throw new StatusError('content trust is on, so push signs what it pushes: set BERTH_TRUST_KEY to the private key to sign with (berth trust key generate NAME makes one)', 1);
  return { key: await openPrivateKey(ctx, file), file };
}
