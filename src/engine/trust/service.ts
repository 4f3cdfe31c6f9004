// The trust service: the gate pull's resolution step asks (berthd's --trust-policy, and the keys a client
// sends when its user turned content trust on), and the signature verbs the CLI's `berth trust` uses through
// berthd: resolve a reference to the digest to sign, store a signature the CLI made, verify one.
import type { AuthConfig } from '../../distribution/auth.js';
import {
  checkSignatures,
  fetchSignatures,
  NotTrusted,
  parsePayload,
  payloadReference,
  publicKeysFromPem,
  pushSignature,
  resolveSubject,
  verifyImageSignatures,
  type PushedSignature,
  type TrustedKey,
} from '../../distribution/cosign.js';
import { RegistryClient } from '../../distribution/registry.js';
import { normalizedName, normalizedString, parseNormalizedNamed, tagNameOnly, type Reference } from '../../image-spec/reference.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { decide, decideRequirements, type Decision, type TrustPolicy } from './policy.js';

export interface TrustOptions {
  /** berthd --trust-policy, parsed; none: only clients' keys are enforced. */
  policy?: TrustPolicy;
  insecure: string[];
}

/** What pull (and a build's FROM) ask before anything is stored. */
export interface TrustGate {
  /** Does any rule apply to `ref` (so a local image must not be used unverified)? */
  applies(ref: Reference, requestKeys?: TrustedKey[]): boolean;
  /** Refuse (NotTrusted, naming the reference and the keys tried) unless `digest` of `ref` is accepted. */
  check(client: RegistryClient, ref: Reference, digest: string, requestKeys?: TrustedKey[]): Promise<void>;
}

export interface ResolvedImage {
  Reference: string;
  Digest: string;
  MediaType: string;
  Size: number;
  /** The repository as the payload names it. */
  DockerReference: string;
}

export class TrustService implements TrustGate {
  constructor(private readonly o: TrustOptions) {}

  get policySource(): string | undefined {
    return this.o.policy?.source;
  }

  private decisions(ref: Reference, requestKeys?: TrustedKey[]): Decision[] {
    const out: Decision[] = [];
    if (this.o.policy) out.push(decide(this.o.policy, ref));
    if (requestKeys) out.push(decideRequirements([{ type: 'signedBy', keys: requestKeys }], 'client content trust'));
    return out.filter((d) => d.kind !== 'accept');
  }

  applies(ref: Reference, requestKeys?: TrustedKey[]): boolean {
    return this.decisions(ref, requestKeys).length > 0;
  }

  async check(client: RegistryClient, ref: Reference, digest: string, requestKeys?: TrustedKey[]): Promise<void> {
    const decisions = this.decisions(ref, requestKeys);
    if (!decisions.length) return;
    const shown = normalizedString(ref);
    for (const d of decisions) {
      if (d.kind === 'reject') throw new NotTrusted(`${shown} is rejected by the trust policy ${this.o.policy?.source ?? ''} (scope "${d.scope}")`.replace('  ', ' '));
    }
    const found = await fetchSignatures(client, ref.path, digest);
    for (const d of decisions) if (d.kind === 'signed') for (const keys of d.keySets) checkSignatures(ref, digest, found, keys);
  }

  private client(ref: Reference, auth: AuthConfig): RegistryClient {
    return new RegistryClient({ host: ref.domain, auth, insecure: this.o.insecure });
  }

  /** The digest a reference names in its registry (the top-level manifest, as cosign signs it). */
  async resolve(refText: string, auth: AuthConfig): Promise<ResolvedImage> {
    const ref = parseRef(refText);
    const subject = await resolveSubject(this.client(ref, auth), ref).catch((e) => {
      if (e instanceof NotFound) throw new NotFound(`${normalizedString(ref)}: no such image in the registry (push it first): ${e.message}`);
      throw Object.assign(e as Error, { message: `cannot reach the registry of ${normalizedString(ref)} to check its signatures: ${(e as Error).message}` });
    });
    return { Reference: normalizedString(ref), Digest: subject.digest, MediaType: subject.mediaType, Size: subject.size, DockerReference: payloadReference(ref) };
  }

  /**
   * Store a signature made elsewhere (the CLI signs with the user's key): its payload must be a cosign
   * payload for this repository and for the digest the reference has now.
   */
  async storeSignature(body: { reference: string; digest: string; payload: string; signature: string }, auth: AuthConfig): Promise<PushedSignature> {
    const ref = parseRef(body.reference);
    const payload = Buffer.from(body.payload ?? '', 'base64');
    const p = parsePayload(payload);
    if (p.manifestDigest !== body.digest) throw new InvalidParameter(`the payload names ${p.manifestDigest}, not ${body.digest}`);
    if (p.dockerReference !== payloadReference(ref) && p.dockerReference !== normalizedName(ref)) {
      throw new InvalidParameter(`the payload names ${p.dockerReference}, not ${payloadReference(ref)}`);
    }
    if (!body.signature || !/^[A-Za-z0-9+/]+=*$/.test(body.signature)) throw new InvalidParameter('signature: expected base64');
    const client = this.client(ref, auth);
    const subject = await resolveSubject(client, ref.digest ? ref : { ...ref, digest: body.digest, tag: undefined });
    if (subject.digest !== body.digest) throw new InvalidParameter(`${normalizedString(ref)} is ${subject.digest} now, not ${body.digest}: sign again`);
    return pushSignature(client, ref.path, subject, payload, body.signature);
  }

  /** Verify a reference's signatures against keys the client sends. */
  async verify(body: { reference: string; keys: { name: string; pem: string }[] }, auth: AuthConfig): Promise<ResolvedImage & { Key: string; Source: string }> {
    if (!Array.isArray(body.keys) || !body.keys.length) throw new InvalidParameter('keys: at least one public key is required');
    const keys = publicKeysFromPem(body.keys);
    const resolved = await this.resolve(body.reference, auth);
    const ref = parseRef(body.reference);
    const v = await verifyImageSignatures(this.client(ref, auth), ref, resolved.Digest, keys);
    return { ...resolved, Key: v.key, Source: v.source };
  }
}

function parseRef(text: string): Reference {
  if (typeof text !== 'string' || !text) throw new InvalidParameter('reference: an image reference is required');
  try {
    return tagNameOnly(parseNormalizedNamed(text));
  } catch (e) {
    throw new InvalidParameter(`invalid reference "${text}": ${(e as Error).message}`);
  }
}
