// `berth trust`: signing keys, and cosign-compatible signatures of images in a registry.
//   berth trust key generate NAME          NAME.key (encrypted PKCS#8 PEM) + NAME.pub (PEM public key)
//   berth trust sign --key NAME.key REF    sign the digest REF names; stored beside it in its registry
//   berth trust verify --key NAME.pub REF  check REF's signatures (exit 1 when none verifies)
// Keys are opened here (the private key never leaves this process); berthd resolves, stores and verifies.
import { existsSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { ApiError } from '../../client/errors.js';
import { generateSigningKeyPair } from '../../distribution/signing-keys.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { parseRef } from '../pull.js';
import { openPrivateKey, passphrase, signReference, verifyReference } from '../trust.js';

function daemonError(e: unknown): never {
  if (e instanceof ApiError) throw new StatusError(`Error response from daemon: ${e.message}`, 1);
  throw e;
}

async function keyGenerate(ctx: Context, f: ParsedFlags): Promise<number> {
  const [verb, name] = f.args;
  if (verb !== 'generate') throw new StatusError(`unknown command "${verb}" for "berth trust key": use berth trust key generate NAME`, 1);
  if (!name) throw new StatusError('"berth trust key generate" requires exactly 1 argument: the key name (writes NAME.key and NAME.pub)', 1);
  const keyFile = `${name}.key`;
  const pubFile = `${name}.pub`;
  for (const file of [keyFile, pubFile]) {
    if (existsSync(file) && !f.bool('force')) throw new StatusError(`${file} already exists: choose another name, remove it, or use --force to overwrite`, 1);
  }
  const pass = await passphrase(ctx, 'Enter password for private key: ', true);
  let pair;
  try {
    pair = generateSigningKeyPair(pass);
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
  try {
    writeFileSync(keyFile, pair.privatePem, { mode: 0o600 });
    writeFileSync(pubFile, pair.publicPem, { mode: 0o644 });
  } catch (e) {
    for (const file of [keyFile, pubFile]) if (existsSync(file)) unlinkSync(file);
    throw new StatusError(`cannot write the key pair: ${(e as Error).message}`, 1);
  }
  await writeOut(ctx.stdout, `Private key written to ${keyFile}\nPublic key written to ${pubFile}\n`);
  return 0;
}

function annotations(f: ParsedFlags): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const a of f.list('annotation')) {
    const i = a.indexOf('=');
    if (i < 1) throw new StatusError(`invalid annotation "${a}": expected key=value`, 1);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return Object.keys(out).length ? out : undefined;
}

async function sign(ctx: Context, f: ParsedFlags): Promise<number> {
  const keyFile = f.str('key');
  if (!keyFile) throw new StatusError('--key is required: the private key to sign with (berth trust key generate NAME makes one)', 1);
  const ref = f.args[0]!;
  parseRef(ref);
  const notes = annotations(f);
  const key = await openPrivateKey(ctx, keyFile);
  const r = await signReference(ctx, key, ref, notes).catch(daemonError);
  await writeOut(ctx.stdout, `Signed ${r.DockerReference}@${r.Digest}\nPushed signature to ${r.DockerReference}:${r.Tag}${r.Referrer ? ` and as referrer ${r.Referrer}` : ''}\n`);
  return 0;
}

async function verify(ctx: Context, f: ParsedFlags): Promise<number> {
  const files = f.list('key');
  if (!files.length) throw new StatusError('--key is required: the public key(s) to verify with (NAME.pub)', 1);
  const ref = f.args[0]!;
  parseRef(ref);
  const keys = files.map((file) => {
    try {
      return { name: file, pem: readFileSync(file, 'utf8') };
    } catch (e) {
      throw new StatusError(`cannot read key ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 1);
    }
  });
  const v = await verifyReference(ctx, ref, keys).catch(daemonError);
  await writeOut(
    ctx.stdout,
    `Verification for ${v.Reference} --\nThe following checks were performed on each of these signatures:\n` +
      `  - The signature was verified against the specified public key (${v.Key})\n` +
      `  - The payload names ${v.DockerReference} and the digest ${v.Digest}\n` +
      `Signature found in ${v.Source}\n`,
  );
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  'trust key': {
    usage: 'generate NAME',
    description: 'Generate an ECDSA P-256 key pair: NAME.key (encrypted with a passphrase: the prompt, or BERTH_PASSWORD) and NAME.pub',
    flags: [{ name: 'force', short: 'f', type: 'bool', description: 'Overwrite NAME.key and NAME.pub' }],
    args: { min: 1, max: 2 },
    run: keyGenerate,
  },
  'trust sign': {
    usage: '--key KEY IMAGE[:TAG|@DIGEST]',
    description: "Sign an image in a registry (cosign's format: tag sha256-<digest>.sig, and an OCI referrer where supported)",
    flags: [
      { name: 'key', type: 'string', description: 'Private key file (NAME.key)' },
      { name: 'annotation', short: 'a', type: 'stringArray', description: 'key=value annotations stored in the payload' },
    ],
    args: { min: 1, max: 1 },
    run: sign,
  },
  'trust verify': {
    usage: '--key PUB IMAGE[:TAG|@DIGEST]',
    description: "Verify an image's signatures with public keys",
    flags: [{ name: 'key', type: 'stringArray', description: 'Public key file (NAME.pub); repeat for several' }],
    args: { min: 1, max: 1 },
    run: verify,
  },
};
