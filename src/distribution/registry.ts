// A client for one registry speaking the OCI distribution API: manifests, blobs (with resume), uploads,
// cross-repository mounts, tags. It answers auth challenges itself (auth.ts) and keeps tokens per scope.
// Plain HTTP is used only for loopback registries and `--insecure-registry` entries (after HTTPS fails).
import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import path from 'node:path';
import { Readable } from 'node:stream';
import { InvalidParameter, NotFound, SystemError } from '../lib/errors.js';
import { MANIFEST_ACCEPT } from '../image-spec/media-types.js';
import { basicHeader, parseChallenge, type AuthConfig } from './auth.js';

/** A registry answered with an error: its status and the spec's error code and message. */
export class RegistryError extends SystemError {
  constructor(
    readonly registryStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RegistryOptions {
  /** Registry host as in references: "docker.io", "localhost:5000". */
  host: string;
  auth: AuthConfig;
  /** Hosts (besides loopback) where plain HTTP may be used: berthd's --insecure-registry. */
  insecure?: string[];
}

export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 16 }), https: new https.Agent({ keepAlive: true, maxSockets: 16 }) };

function tlsOptions(host: string): { ca: string[]; secureContext: SecureContext } {
  const ca = caFor(host);
  return { ca, secureContext: secureContextFor(host, ca) };
}

/** Docker Hub's API host; every other registry is reached at its own name. */
function apiHost(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' ? 'registry-1.docker.io' : host;
}

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || name === '::1' || /^127\./.test(name);
}

/** The host's CA bundle plus Docker's per-registry CA files (/etc/docker/certs.d/<host>/*.crt). */
function caFor(host: string): string[] {
  const cas = [...rootCertificates];
  if (existsSync('/etc/ssl/certs/ca-certificates.crt')) cas.push(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'));
  for (const base of ['/etc/berth/certs.d', '/etc/docker/certs.d']) {
    const dir = path.join(base, host);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.crt')) cas.push(readFileSync(path.join(dir, f), 'utf8'));
  }
  return cas;
}

/** The last TLS context made for each host, with the CAs it was made from. */
const contexts = new Map<string, { cas: string[]; context: SecureContext }>();

/** A TLS context trusting caFor(host): made again only when those CAs changed (they are read each time),
 *  since making one parses ~150 certificates (~50 ms, paid by every pull's first HTTPS attempt). */
function secureContextFor(host: string, cas: string[]): SecureContext {
  const last = contexts.get(host);
  if (last && last.cas.length === cas.length && last.cas.every((c, i) => c === cas[i])) return last.context;
  const context = createSecureContext({ ca: cas });
  contexts.set(host, { cas, context });
  return context;
}

export class RegistryClient {
  private base?: string;
  private readonly tokens = new Map<string, string>();
  private basicAuth = false;

  constructor(private readonly o: RegistryOptions) {}

  get host(): string {
    return this.o.host;
  }

  /** https://host, or http://host when the registry is allowed to be insecure and HTTPS fails. */
  private async endpoint(): Promise<string> {
    if (this.base) return this.base;
    const host = apiHost(this.o.host);
    const insecure = isLoopback(host) || (this.o.insecure ?? []).includes(this.o.host);
    try {
      await this.raw('GET', `https://${host}/v2/`, {});
      this.base = `https://${host}`;
    } catch (e) {
      if (!insecure) throw new SystemError(`Get "https://${host}/v2/": ${(e as Error).message}`);
      this.base = `http://${host}`;
    }
    return this.base;
  }

  /** One HTTP exchange; resolves with the response (body unread). */
  private raw(method: string, url: string, opts: { headers?: Record<string, string>; body?: Buffer | Readable }): Promise<IncomingMessage> {
    const u = new URL(url);
    const isHttps = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        u,
        {
          method,
          headers: { 'User-Agent': 'berth/0.1', ...opts.headers },
          agent: isHttps ? agents.https : agents.http,
          // `ca` still names the agent's pool of connections: a connection made under other CAs is not reused.
          ...(isHttps ? tlsOptions(u.host) : {}),
          timeout: 30_000,
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error('timeout waiting for the registry')));
      req.on('error', reject);
      if (opts.body instanceof Readable) opts.body.pipe(req);
      else req.end(opts.body);
    });
  }

  /**
   * An authenticated request for `repo` with `actions` (pull, or pull+push). On a 401 the challenge is
   * answered and the request retried once; a streamed body must then be given as a factory.
   */
  async request(
    method: string,
    pathOrUrl: string,
    opts: { repo?: string; actions?: string; scope?: string; headers?: Record<string, string>; body?: Buffer | (() => Readable); ok?: number[] } = {},
  ): Promise<IncomingMessage> {
    const base = await this.endpoint();
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : base + pathOrUrl;
    // Space-separated scopes, each sent as its own `scope` parameter to the token server.
    const scope = opts.scope ?? (opts.repo ? `repository:${opts.repo}:${opts.actions ?? 'pull'}` : '');
    for (let attempt = 0; ; attempt++) {
      const headers = { ...opts.headers };
      const authz = this.authorization(scope);
      if (authz) headers.Authorization = authz;
      const body = typeof opts.body === 'function' ? opts.body() : opts.body;
      const res = await this.raw(method, url, { headers, body }).catch((e: Error) => {
        throw new SystemError(`${method} ${url}: ${e.message}`);
      });
      if (res.statusCode === 401 && attempt === 0) {
        const challenge = parseChallenge(res.headers['www-authenticate']);
        res.resume();
        if (challenge && (await this.answer(challenge, scope))) continue;
      }
      if ((opts.ok ?? [200]).includes(res.statusCode!)) return res;
      throw await errorFrom(res, `${method} ${url}`);
    }
  }

  private authorization(scope: string): string | undefined {
    const token = this.tokens.get(scope) ?? (scope ? undefined : this.tokens.get(''));
    if (token) return `Bearer ${token}`;
    if (this.basicAuth) return basicHeader(this.o.auth);
    return undefined;
  }

  /** Answer a challenge: basic → send credentials from now on; bearer → get a token for the scope. */
  private async answer(ch: ReturnType<typeof parseChallenge> & object, scope: string): Promise<boolean> {
    if (ch.scheme === 'basic') {
      if (this.basicAuth || !basicHeader(this.o.auth)) return false;
      this.basicAuth = true;
      return true;
    }
    if (this.o.auth.registrytoken) {
      this.tokens.set(scope, this.o.auth.registrytoken);
      return true;
    }
    const realm = ch.params.realm;
    if (!realm) return false;
    const url = new URL(realm);
    if (ch.params.service) url.searchParams.set('service', ch.params.service);
    const wanted = scope || ch.params.scope;
    for (const sc of (wanted ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', sc);
    const headers: Record<string, string> = {};
    const basic = basicHeader(this.o.auth);
    if (basic) headers.Authorization = basic;
    if (this.o.auth.identitytoken) {
      url.searchParams.set('grant_type', 'refresh_token');
      url.searchParams.set('refresh_token', this.o.auth.identitytoken);
    }
    const res = await this.raw('GET', url.toString(), { headers }).catch((e: Error) => {
      throw new SystemError(`getting a token from ${url.origin}: ${e.message}`);
    });
    const text = await readAll(res);
    if (res.statusCode === 401 || res.statusCode === 403) throw new RegistryError(401, 'UNAUTHORIZED', `unauthorized: authentication required (the token server refused the credentials for ${wanted})`);
    if (res.statusCode !== 200) throw new RegistryError(res.statusCode ?? 0, 'UNKNOWN', `token server answered ${res.statusCode}: ${text.toString().slice(0, 200)}`);
    const body = JSON.parse(text.toString()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) return false;
    this.tokens.set(scope, token);
    return true;
  }

  // ---- manifests ----

  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${ref}`, { repo, headers: { Accept: MANIFEST_ACCEPT } });
    const body = await readAll(res);
    const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim() || (JSON.parse(body.toString()) as { mediaType?: string }).mediaType || '';
    const digest = sha256Of(body);
    if (ref.startsWith('sha256:') && ref !== digest) {
      throw new RegistryError(400, 'DIGEST_INVALID', `manifest verification failed for digest ${ref}: the registry sent content with digest ${digest}`);
    }
    return { body, mediaType, digest };
  }

  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${ref}`, { repo, actions: 'pull,push', headers: { 'Content-Type': mediaType }, body, ok: [200, 201] });
    res.resume();
    return String(res.headers['docker-content-digest'] ?? sha256Of(body));
  }

  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list`;
    while (next) {
      const res = await this.request('GET', next, { repo });
      out.push(...((JSON.parse((await readAll(res)).toString()) as { tags?: string[] }).tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      next = link?.[1];
    }
    return out;
  }

  // ---- blobs ----

  async hasBlob(repo: string, digest: string, actions = 'pull'): Promise<boolean> {
    try {
      const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { repo, actions, ok: [200] });
      res.resume();
      return true;
    } catch (e) {
      if (e instanceof NotFound) return false;
      throw e;
    }
  }

  /**
   * The blob's bytes; when the connection drops midway the rest is fetched again with a Range request
   * (up to `retries` times), so a flaky network costs time, not the whole download.
   */
  blob(repo: string, digest: string, onBytes?: (n: number) => void, retries = 5): Readable {
    const request = this.request.bind(this);
    return Readable.from(
      (async function* () {
        let offset = 0;
        for (let attempt = 0; ; attempt++) {
          try {
            const headers: Record<string, string> = offset ? { Range: `bytes=${offset}-` } : {};
            const res = await request('GET', `/v2/${repo}/blobs/${digest}`, { repo, headers, ok: offset ? [206] : [200] });
            for await (const chunk of res) {
              offset += (chunk as Buffer).length;
              onBytes?.((chunk as Buffer).length);
              yield chunk as Buffer;
            }
            if (!res.complete) throw new SystemError('connection closed before the blob was complete');
            return;
          } catch (e) {
            // Only a dropped connection or a server error is worth retrying; a refusal is final.
            const transient = e instanceof RegistryError ? e.registryStatus >= 500 : !(e instanceof NotFound || e instanceof InvalidParameter);
            if (!transient) throw e;
            if (attempt >= retries) throw new SystemError(`fetching blob ${digest}: ${(e as Error).message} (gave up after ${retries} retries)`);
            await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
          }
        }
      })(),
    );
  }

  /** Cross-repository mount: true when the registry linked the blob without an upload. */
  async mount(repo: string, digest: string, from: string): Promise<boolean> {
    const res = await this.request('POST', `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, {
      scope: `repository:${repo}:pull,push repository:${from}:pull`,
      ok: [201, 202],
    });
    res.resume();
    if (res.statusCode === 201) return true;
    // 202: the registry opened an upload instead; abandon it (it expires on the registry's side).
    return false;
  }

  /** Chunked upload in one streamed PATCH, then PUT with the digest computed while streaming. */
  async upload(repo: string, src: () => Readable, digest: () => string): Promise<void> {
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { repo, actions: 'pull,push', ok: [202] });
    start.resume();
    let location = this.resolveLocation(String(start.headers.location ?? ''));
    const patch = await this.request('PATCH', location, {
      repo,
      actions: 'pull,push',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: src,
      ok: [202, 204],
    });
    patch.resume();
    location = this.resolveLocation(String(patch.headers.location ?? location));
    const sep = location.includes('?') ? '&' : '?';
    const put = await this.request('PUT', `${location}${sep}digest=${encodeURIComponent(digest())}`, { repo, actions: 'pull,push', ok: [201, 204] });
    put.resume();
  }

  private resolveLocation(loc: string): string {
    if (!loc) throw new SystemError('the registry started an upload without a Location header');
    return new URL(loc, this.base).toString();
  }
}

export function sha256Of(data: Buffer): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export async function readAll(res: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** The spec's error body ({"errors":[{"code","message"}]}) as a typed error. */
async function errorFrom(res: IncomingMessage, what: string): Promise<Error> {
  const text = (await readAll(res).catch(() => Buffer.alloc(0))).toString();
  let code = 'UNKNOWN';
  let message = text.trim().slice(0, 300) || `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
  try {
    const first = (JSON.parse(text) as { errors?: { code: string; message: string }[] }).errors?.[0];
    if (first) {
      code = first.code;
      message = `${first.code.toLowerCase().replace(/_/g, ' ')}: ${first.message}`;
    }
  } catch {
    // not JSON: keep the text
  }
  const status = res.statusCode ?? 0;
  if (status === 401) return new RegistryError(401, 'UNAUTHORIZED', `unauthorized: authentication required (${what})`);
  if (status === 404 && code === 'UNKNOWN') code = 'NOT_FOUND';
  if (status === 404) return Object.assign(new NotFound(message), { registryCode: code, status });
  if (status === 400 && code === 'UNKNOWN') return new InvalidParameter(message);
  return new RegistryError(status, code, message);
}
