// The distribution service: pull, push, login (credential check) and registry lookups for the API.
import type { ImagesService } from '../images/service.js';
import type { EventsService } from '../events.js';
import { familiarString, parseImageReference, parseNormalizedNamed } from '../../image-spec/reference.js';
import { RegistryClient, RegistryError } from '../../distribution/registry.js';
import { basicHeader, type AuthConfig } from '../../distribution/auth.js';
import { pullImage, resolveManifest, isIndex } from './pull.js';
import { parseImageIndex } from '../images/config.js';
import { pushImage } from './push.js';
import type { Progress } from './progress.js';
import { InvalidParameter, Unauthorized } from '../../lib/errors.js';
import type { TrustGate } from '../trust/service.js';
import type { TrustedKey } from '../../distribution/cosign.js';
import type { Reference } from '../../image-spec/reference.js';

export interface DistributionOptions {
  images: ImagesService;
  events: EventsService;
  /** berthd --insecure-registry: hosts where plain HTTP is allowed (loopback always is). */
  insecure: string[];
  /** The trust gate pulls pass (berthd's --trust-policy, clients' content-trust keys). */
  trust?: TrustGate;
}

export class DistributionService {
  constructor(private readonly o: DistributionOptions) {}

  get insecureRegistries(): string[] {
    return this.o.insecure;
  }

  /** Pull a tag or digest, or every tag of the repository with `allTags`. Returns the image IDs. */
  async pull(ref: string, opts: { auth: AuthConfig; platform?: string; allTags?: boolean; progress: Progress; trustKeys?: TrustedKey[] }): Promise<string[]> {
    const named = parseNormalizedNamed(ref);
    const refs = opts.allTags && !named.tag && !named.digest ? await this.allTags(ref, opts.auth) : [ref];
    const ids: string[] = [];
    for (const r of refs) {
      const checkTrust = this.o.trust && ((client: RegistryClient, named: Reference, digest: string) => this.o.trust!.check(client, named, digest, opts.trustKeys));
      const id = await pullImage(this.o.images, r, { auth: opts.auth, insecure: this.o.insecure, platform: opts.platform, progress: opts.progress, checkTrust });
      this.o.events.emit('image', 'pull', familiarString(parseImageReference(r)), { name: familiarString(parseImageReference(r)) });
      ids.push(id);
    }
    return ids;
  }

  /** Would a pull of `ref` be checked for signatures (so a build must not use a local copy unverified)? */
  trustApplies(ref: string, trustKeys?: TrustedKey[]): boolean {
    return !!this.o.trust?.applies(parseNormalizedNamed(ref), trustKeys);
  }

  private async allTags(ref: string, auth: AuthConfig): Promise<string[]> {
    const named = parseNormalizedNamed(ref);
    const client = new RegistryClient({ host: named.domain, auth, insecure: this.o.insecure });
    const tags = await client.tags(named.path);
    return tags.map((t) => `${ref}:${t}`);
  }

  async push(name: string, tag: string | undefined, opts: { auth: AuthConfig; allTags?: boolean; progress: Progress }): Promise<void> {
    await pushImage(this.o.images, name, tag, { auth: opts.auth, insecure: this.o.insecure, progress: opts.progress, allTags: opts.allTags });
    this.o.events.emit('image', 'push', name + (tag ? ':' + tag : ''), { name: name + (tag ? ':' + tag : '') });
  }

  /** POST /auth: check the credentials against the registry's /v2/ (answering its challenge). */
  async login(auth: AuthConfig): Promise<{ Status: string; IdentityToken: string }> {
    if (!basicHeader(auth)) throw new InvalidParameter('login: a username and password are required');
    const host = registryHost(auth.serveraddress);
    const client = new RegistryClient({ host, auth, insecure: this.o.insecure });
    try {
      const res = await client.request('GET', '/v2/', { scope: '', ok: [200] });
      res.resume();
    } catch (e) {
      if (e instanceof RegistryError && e.registryStatus === 401) throw new Unauthorized(`Get "${host}/v2/": unauthorized: incorrect username or password`);
      throw e;
    }
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** GET /distribution/{name}/json: the descriptor a tag points to, and the platforms of an index. */
  async distributionInspect(name: string, auth: AuthConfig): Promise<unknown> {
    const ref = parseImageReference(name);
    const client = new RegistryClient({ host: ref.domain, auth, insecure: this.o.insecure });
    const { top } = await resolveManifest(client, ref);
    const platforms = isIndex(top.mediaType)
      ? parseImageIndex(top.body.toString()).manifests.flatMap((m) => (m.platform ? [m.platform] : []))
      : await configPlatform(client, ref.path, top.body);
    return { Descriptor: { mediaType: top.mediaType, digest: top.digest, size: top.body.length }, Platforms: platforms };
  }
}

/** A single image's platform, read from its config as dockerd does (none when the config names none). */
async function configPlatform(client: RegistryClient, repo: string, manifestBody: Buffer): Promise<Record<string, unknown>[]> {
  const configDigest = (JSON.parse(manifestBody.toString()) as { config?: { digest?: unknown } }).config?.digest;
  if (typeof configDigest !== 'string') return [];
  const chunks: Buffer[] = [];
  for await (const c of client.blob(repo, configDigest)) chunks.push(c as Buffer);
  const cfg = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> | null;
  const platform: Record<string, unknown> = {};
  for (const k of ['architecture', 'os', 'os.version', 'os.features', 'variant']) if (cfg?.[k] !== undefined && cfg[k] !== '') platform[k] = cfg[k];
  return platform.os || platform.architecture ? [platform] : [];
}

/** "https://index.docker.io/v1/" and other server addresses → the registry host used in references. */
export function registryHost(serverAddress: string | undefined): string {
  if (!serverAddress) return 'docker.io';
  const host = serverAddress.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}
