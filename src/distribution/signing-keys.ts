// Signing keys for `berth trust`: ECDSA P-256 pairs. The private key is written as encrypted PKCS#8 PEM
// ("-----BEGIN ENCRYPTED PRIVATE KEY-----", PBKDF2-SHA256 + AES-256-CBC), which node:crypto reads and
// writes natively and openssl (`openssl pkey -in release.key`) and `cosign import-key-pair` read; the
// public key is PEM SubjectPublicKeyInfo, which cosign's --key and openssl's -verify take as they are.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { InvalidParameter } from '../lib/errors.js';
import { checkKeyType } from './cosign.js';

export interface KeyPairPem {
  privatePem: string;
  publicPem: string;
}

export function generateSigningKeyPair(passphrase: string): KeyPairPem {
  if (!passphrase) throw new InvalidParameter('an empty passphrase cannot protect a private key: give one at the prompt or in BERTH_PASSWORD');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

/** What kind of PEM a key file holds, so a wrong file gets a message saying what it is. */
function pemLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
}

/** Is the file an encrypted private key (a passphrase is needed to open it)? */
export function needsPassphrase(pem: string | Buffer): boolean {
  const label = pemLabel(pem.toString());
  return label === 'ENCRYPTED PRIVATE KEY' || (label !== undefined && /Proc-Type: 4,ENCRYPTED/.test(pem.toString()));
}

/** Open a private key file: decrypted with `passphrase`, checked to be ECDSA P-256. */
export function loadPrivateKey(pem: string | Buffer, passphrase: string, name: string): KeyObject {
  const text = pem.toString();
  const label = pemLabel(text);
  if (label === 'ENCRYPTED SIGSTORE PRIVATE KEY' || label === 'ENCRYPTED COSIGN PRIVATE KEY') {
    throw new InvalidParameter(`${name} is a cosign-format key (scrypt + secretbox), which berth does not read: use a key from berth trust key generate (cosign import-key-pair converts it the other way)`);
  }
  if (label === 'PUBLIC KEY') throw new InvalidParameter(`${name} is a public key: signing takes the private key (NAME.key)`);
  if (label === undefined || !/PRIVATE KEY$/.test(label)) throw new InvalidParameter(`${name} is not a PEM private key (expected "-----BEGIN ENCRYPTED PRIVATE KEY-----", as berth trust key generate writes)`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', passphrase });
  } catch (e) {
    const msg = (e as Error).message;
    if (needsPassphrase(text) && /bad decrypt|decrypt|passphrase|DECODER|unsupported/i.test(msg)) throw new InvalidParameter(`wrong passphrase for ${name} (or the key file is damaged)`);
    throw new InvalidParameter(`${name}: cannot read the private key: ${msg}`);
  }
  checkKeyType(key, name);
  return key;
}

/** The public half of a private key, as PEM (to tell which .pub goes with a .key). */
export function publicPemOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string;
}
