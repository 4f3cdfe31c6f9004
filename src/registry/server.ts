// `berth registry serve`: the OCI distribution spec v1.1 over HTTP(S) — /v2/, blobs (GET/HEAD with Range,
// DELETE), uploads (monolithic, chunked, cross-repository mount), manifests by tag and digest with content
// negotiation, tag lists and the catalog with n/last pagination, the referrers API — with distribution's
// error codes, htpasswd or token auth, a read-only mode, upload expiry and an optional per-repository quota.
import { promises as fs, readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ReaderAt } from '../content/content-store.js';
import { sha256 } from '../image-spec/digest.js';
import { writeFileAtomic } from '../lib/fsutil.js';
import { BasicAuth, basicCredentials, Htpasswd, loadKeys, noAuth, parseAcl, TokenAuth, TokenIssuer, type Access, type Authenticator, type Principal } from './auth.js';
import { regError, RegistryError } from './errors.js';
import { serveMarker } from './gc.js';
import { acceptedTypes, accepts, indexChildren, isIndexType, MAX_MANIFEST, MT, parseManifest, pickPlatformChild } from './manifests.js';
import { checkDigest, checkName, isDigestLike, isTag } from './names.js';
import { RegistryStorage } from './storage.js';
import { rangeHeader, Uploads, type Upload } from './uploads.js';

export interface RegistryServerOptions {
  root: string;
  /** host:port to listen on; port 0 picks a free one. */
  addr: string;
  htpasswd?: string;
  /** Realm of the Basic challenge. */
  realm?: string;
  token?: {
    realm?: string;
    issuer: string;
    service: string;
    /** PEM: certificates or public keys to verify tokens; a private key also signs them with `issue`. */
    keyFile: string;
    /** Serve a token endpoint at /token for the htpasswd users. */
    issue?: boolean;
    /** ACL for issued tokens (auth.ts parseAcl). */
    aclFile?: string;
  };
  tls?: { cert: string; key: string };
  readOnly?: boolean;
  uploadTtlMs?: number;
  quotaPerRepo?: number;
  maxUploads?: number;
  /** Called with one line per request. */
  accessLog?: (line: string) => void;
  /** Called with unexpected (500) errors. */
  errorLog?: (line: string) => void;
}

const RE_UPLOAD_START = /^\/v2\/(.+)\/blobs\/uploads\/?$/;
const RE_UPLOAD = /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/;
const RE_BLOB = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
const RE_MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const RE_TAGS = /^\/v2\/(.+)\/tags\/list$/;
const RE_REFERRERS = /^\/v2\/(.+)\/referrers\/([^/]+)$/;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const DEFAULT_CATALOG_PAGE = 1000;

type Handler = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, q: URLSearchParams) => Promise<void>;

interface Route {
  re: RegExp;
  methods: Record<string, Handler>;
}

const pull = (name: string): Access[] => [{ type: 'repository', name, actions: ['pull'] }];
const push = (name: string): Access[] => [{ type: 'repository', name, actions: ['pull', 'push'] }];
const del = (name: string): Access[] => [{ type: 'repository', name, actions: ['delete'] }];

function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function contentLength(req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length'];
  return cl === undefined ? undefined : Number(cl);
}

async function readBody(req: IncomingMessage, limit: number, what = 'manifest'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw regError(what === 'manifest' ? 'MANIFEST_INVALID' : 'SIZE_INVALID', `${what} too large (more than ${limit} bytes)`, { limit }, 413);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Content-Range of a PATCH: "<start>-<end>" (the spec's form; "bytes " and "bytes=" prefixes taken too). */
export function parseContentRange(h: string, size: number, uuid: string): { start: number; length: number } {
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(h.trim());
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  if (!m || end < start) throw regError('RANGE_INVALID', `invalid Content-Range ${JSON.stringify(h)}`).withHeaders({ Range: rangeHeader(size), 'Docker-Upload-UUID': uuid });
  return { start, length: end - start + 1 };
}

/** A blob GET's Range: one "bytes=a-b", "bytes=a-" or "bytes=-n"; undefined means the whole blob. */
export function parseRange(h: string | undefined, size: number): { start: number; end: number } | undefined | 'unsatisfiable' {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // several ranges or a malformed one: the whole blob
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export function paginate(all: string[], q: URLSearchParams, defaultN?: number): { items: string[]; next?: { last: string; n: number } } {
  const nText = q.get('n');
  let n = defaultN;
  if (nText !== null && nText !== '') {
    if (!/^\d+$/.test(nText)) throw regError('PAGINATION_NUMBER_INVALID', undefined, { n: nText });
    n = Number(nText);
  }
  const last = q.get('last');
  let items = last ? all.filter((x) => x > last) : all;
  if (n === undefined || items.length <= n) return { items };
  items = items.slice(0, n);
  return n > 0 ? { items, next: { last: items[items.length - 1]!, n } } : { items };
}

function linkHeader(base: string, next: { last: string; n: number }): string {
  return `<${base}?last=${encodeURIComponent(next.last)}&n=${next.n}>; rel="next"`;
}

/** Read buffers for blob GETs, reused once the socket has taken their bytes: serving a blob allocates nothing. */
const CHUNK = 256 * 1024;
const bufferPool: Buffer[] = [];

/**
 * Send [start, stop) of a blob (a content-store ReaderAt): read a chunk, hand it to the socket, read the next once the kernel
 * has it (one buffer per response, taken from a pool). For a 4 MiB blob under 32 connections on 127.0.0.1
 * this served 1.1–2× the requests/s of fs.createReadStream (1 MiB chunks) piped into the response.
 */
async function sendFileRange(fh: ReaderAt, res: ServerResponse, start: number, stop: number): Promise<void> {
  const buf = bufferPool.pop() ?? Buffer.allocUnsafe(CHUNK);
  let reusable = true;
  let closed = false;
  const onClose = (): void => {
    closed = true;
  };
  res.once('close', onClose);
  try {
    let pos = start;
    while (pos < stop && !closed) {
      const bytesRead = await fh.read(buf, 0, Math.min(CHUNK, stop - pos), pos);
      if (bytesRead === 0) throw new Error('blob is shorter than its recorded size');
      pos += bytesRead;
      // The client went away while the chunk was read: nothing will take it.
      if (closed || res.destroyed) {
        reusable = false;
        break;
      }
      const chunk = buf.subarray(0, bytesRead);
      const last = pos >= stop;
      await new Promise<void>((resolve, reject) => {
        // If the client goes away the write may never call back: stop waiting, and let the buffer go.
        const gone = (): void => {
          reusable = false;
          resolve();
        };
        res.once('close', gone);
        const done = (err?: Error | null): void => {
          res.off('close', gone);
          if (err) {
            reusable = false;
            reject(err);
          } else resolve();
        };
        if (last) res.end(chunk, () => done());
        else res.write(chunk, done);
      });
    }
  } catch {
    reusable = false;
    res.destroy();
  } finally {
    res.off('close', onClose);
    await fh.close();
    if (reusable && bufferPool.length < 64) bufferPool.push(buf);
  }
}

export class RegistryServer {
  readonly storage: RegistryStorage;
  readonly uploads: Uploads;
  private readonly auth: Authenticator;
  private readonly issuer?: TokenIssuer;
  private readonly routes: Route[];
  private server?: http.Server;

  private constructor(private readonly opts: RegistryServerOptions) {
    this.storage = new RegistryStorage(opts.root, { quotaPerRepo: opts.quotaPerRepo });
    this.uploads = new Uploads(opts.root, { ttlMs: opts.uploadTtlMs ?? 24 * 3600_000, maxUploads: opts.maxUploads ?? 1000 });
    const realm = opts.realm ?? 'berth registry';
    const htpasswd = opts.htpasswd ? new Htpasswd(opts.htpasswd) : undefined;
    if (opts.token) {
      const keys = loadKeys(opts.token.keyFile);
      // Without --token-realm the realm is this server's own /token, at the host the client asked for.
      const ownRealm = (req: IncomingMessage): string => `${opts.tls ? 'https' : 'http'}://${req.headers.host ?? opts.addr}/token`;
      this.auth = new TokenAuth({ realm: opts.token.realm ?? ownRealm, issuer: opts.token.issuer, service: opts.token.service, keys: keys.verify });
      if (opts.token.issue) {
        if (!keys.sign) throw new Error('--token-issue needs a private key in --token-key');
        if (!htpasswd) throw new Error('--token-issue needs --htpasswd (the users it issues tokens to)');
        const acl = opts.token.aclFile ? parseAcl(readFileSync(opts.token.aclFile, 'utf8')) : undefined;
        this.issuer = new TokenIssuer({ issuer: opts.token.issuer, service: opts.token.service, key: keys.sign, htpasswd, acl, realm });
      }
    } else if (htpasswd) {
      this.auth = new BasicAuth(htpasswd, realm);
    } else {
      this.auth = noAuth;
    }
    this.routes = [
      { re: RE_UPLOAD_START, methods: { POST: (q, s, m, p) => this.startUpload(q, s, m, p) } },
      {
        re: RE_UPLOAD,
        methods: {
          GET: (q, s, m) => this.uploadStatus(q, s, m),
          PATCH: (q, s, m) => this.patchUpload(q, s, m),
          PUT: (q, s, m, p) => this.finishUpload(q, s, m, p),
          DELETE: (q, s, m) => this.cancelUpload(q, s, m),
        },
      },
      { re: RE_BLOB, methods: { GET: (q, s, m) => this.getBlob(q, s, m), HEAD: (q, s, m) => this.getBlob(q, s, m), DELETE: (q, s, m) => this.deleteBlob(q, s, m) } },
      {
        re: RE_MANIFEST,
        methods: {
          GET: (q, s, m) => this.getManifest(q, s, m),
          HEAD: (q, s, m) => this.getManifest(q, s, m),
          PUT: (q, s, m) => this.putManifest(q, s, m),
          DELETE: (q, s, m) => this.deleteManifest(q, s, m),
        },
      },
      { re: RE_TAGS, methods: { GET: (q, s, m, p) => this.tagsList(q, s, m, p) } },
      { re: RE_REFERRERS, methods: { GET: (q, s, m, p) => this.referrers(q, s, m, p) } },
    ];
  }

  /** Open the root, listen, and serve until close(). */
  static async start(opts: RegistryServerOptions): Promise<RegistryServer> {
    const s = new RegistryServer(opts);
    await s.storage.init(!!opts.readOnly);
    await s.uploads.init(!!opts.readOnly);
    const handler = (req: IncomingMessage, res: ServerResponse): void => void s.handle(req, res);
    const server = opts.tls ? https.createServer({ cert: await fs.readFile(opts.tls.cert), key: await fs.readFile(opts.tls.key) }, handler) : http.createServer(handler);
    server.keepAliveTimeout = 65_000;
    // A large blob may take longer than Node's default 5 minutes per request to arrive.
    server.requestTimeout = 0;
    const { host, port } = splitAddr(opts.addr);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    s.server = server;
    // Tells `registry gc` a server is using this root, and whether it may write.
    await writeFileAtomic(path.join(opts.root, serveMarker(process.pid)), JSON.stringify({ pid: process.pid, readOnly: !!opts.readOnly, addr: s.url }));
    return s;
  }

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  get url(): string {
    const { host } = splitAddr(this.opts.addr);
    return `${this.opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async close(): Promise<void> {
    this.uploads.close();
    const server = this.server;
    if (!server) return;
    await fs.rm(path.join(this.opts.root, serveMarker(process.pid)), { force: true });
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = this.opts.accessLog ? process.hrtime.bigint() : 0n;
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    try {
      await this.dispatch(req, res);
    } catch (e) {
      this.sendError(req, res, e);
    }
    if (this.opts.accessLog) {
      const log = this.opts.accessLog;
      const done = (): void => log(`${req.socket.remoteAddress ?? '-'} ${req.method} ${req.url} ${res.statusCode} ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)}ms`);
      if (res.writableFinished) done();
      else res.once('close', done);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    let pathname: string;
    try {
      pathname = decodeURIComponent(qi < 0 ? url : url.slice(0, qi));
    } catch {
      throw regError('UNSUPPORTED', 'malformed URL', undefined, 400);
    }
    const query = new URLSearchParams(qi < 0 ? '' : url.slice(qi + 1));
    const method = req.method ?? 'GET';
    if (pathname === '/v2/' || pathname === '/v2') {
      if (method !== 'GET' && method !== 'HEAD') throw this.notAllowed(['GET', 'HEAD']);
      await this.auth.authorize(req, []);
      return this.json(req, res, 200, {});
    }
    if (pathname === '/v2/_catalog') {
      if (method !== 'GET') throw this.notAllowed(['GET']);
      return this.catalog(req, res, query);
    }
    if (pathname === '/token' && this.issuer) return this.token(req, res, query);
    for (const route of this.routes) {
      const m = route.re.exec(pathname);
      if (!m) continue;
      const h = route.methods[method];
      if (!h) throw this.notAllowed(Object.keys(route.methods));
      if (this.opts.readOnly && WRITE_METHODS.has(method)) {
        throw this.notAllowed(Object.keys(route.methods).filter((x) => !WRITE_METHODS.has(x)), 'the registry is in read-only mode');
      }
      checkName(m[1]!);
      return h(req, res, m, query);
    }
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('404 page not found\n');
  }

  private notAllowed(allow: string[], message?: string): RegistryError {
    return regError('UNSUPPORTED', message, undefined, 405).withHeaders({ Allow: allow.join(', ') });
  }

  private sendError(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    let err: RegistryError;
    if (e instanceof RegistryError) err = e;
    else {
      this.opts.errorLog?.(`${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      err = regError('UNKNOWN', e instanceof Error ? e.message : String(e));
    }
    const body = err.body();
    res.statusCode = err.status;
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    // A request body we did not read: close the connection after the answer instead of reading it.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.end(body);
  }

  private json(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(value);
    res.statusCode = status;
    res.setHeader('Content-Type', headers['Content-Type'] ?? 'application/json; charset=utf-8');
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private empty(res: ServerResponse, status: number, headers: Record<string, string>): void {
    res.statusCode = status;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('Content-Length', 0);
    res.end();
  }

  // ---- catalog, tags, referrers ----

  private async catalog(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    await this.auth.authorize(req, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    const page = paginate(await this.storage.repositories(), q, DEFAULT_CATALOG_PAGE);
    this.json(req, res, 200, { repositories: page.items }, page.next ? { Link: linkHeader('/v2/_catalog', page.next) } : {});
  }

  private async tagsList(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, q: URLSearchParams): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, pull(name));
    const tags = await this.storage.tags(name);
    if (!tags) throw regError('NAME_UNKNOWN', undefined, { name });
    const page = paginate(tags, q);
    this.json(req, res, 200, { name, tags: page.items }, page.next ? { Link: linkHeader(`/v2/${name}/tags/list`, page.next) } : {});
  }

  private async referrers(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, q: URLSearchParams): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, pull(name));
    const digest = checkDigest(m[2]!);
    let list = await this.storage.referrers(name, digest);
    const headers: Record<string, string> = { 'Content-Type': MT.ociIndex };
    const types = q.getAll('artifactType');
    if (types.length) {
      list = list.filter((d) => d.artifactType !== undefined && types.includes(d.artifactType));
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    this.json(req, res, 200, { schemaVersion: 2, mediaType: MT.ociIndex, manifests: list }, headers);
  }

  // ---- manifests ----

  private async getManifest(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    const ref = m[2]!;
    await this.auth.authorize(req, pull(name));
    let digest: string | undefined;
    if (isDigestLike(ref)) digest = checkDigest(ref);
    else {
      if (!isTag(ref)) throw regError('TAG_INVALID', 'invalid tag', { tag: ref });
      digest = await this.storage.resolveTag(name, ref);
    }
    let man = digest ? await this.storage.getManifest(name, digest) : undefined;
    if (!man) {
      if (!(await this.storage.repoExists(name))) throw regError('NAME_UNKNOWN', undefined, { name });
      throw regError('MANIFEST_UNKNOWN', undefined, isDigestLike(ref) ? { digest: ref } : { tag: ref });
    }
    const types = acceptedTypes(req.headers.accept);
    if (!accepts(types, man.mediaType)) {
      // A client that cannot read an index gets the host platform's image from it (distribution does so for manifest lists).
      const child = !isDigestLike(ref) && isIndexType(man.mediaType) ? pickPlatformChild(indexChildren(man.body), types) : undefined;
      const childMan = child && (await this.storage.getManifest(name, child.digest));
      if (!childMan) {
        const what = man.mediaType === MT.ociManifest ? 'OCI manifest' : man.mediaType === MT.ociIndex ? 'OCI index' : `manifest of type ${man.mediaType}`;
        throw regError('MANIFEST_UNKNOWN', `${what} found, but accept header does not support it`, { mediaType: man.mediaType });
      }
      man = childMan;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', man.mediaType);
    res.setHeader('Content-Length', man.body.length);
    res.setHeader('Docker-Content-Digest', man.digest);
    res.setHeader('ETag', `"${man.digest}"`);
    if (req.method === 'HEAD') res.end();
    else res.end(man.body);
  }

  private async putManifest(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    const ref = m[2]!;
    await this.auth.authorize(req, push(name));
    let tag: string | undefined;
    let wantDigest: string | undefined;
    if (isDigestLike(ref)) wantDigest = checkDigest(ref);
    else if (isTag(ref)) tag = ref;
    else throw regError('TAG_INVALID', 'invalid tag', { tag: ref });
    const body = await readBody(req, MAX_MANIFEST);
    const parsed = parseManifest(body, req.headers['content-type']);
    const digest = sha256(body);
    if (wantDigest && wantDigest !== digest) throw regError('DIGEST_INVALID', 'manifest digest did not match', { expected: wantDigest, actual: digest });
    await this.storage.putManifest(name, body, parsed, tag);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
    if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
    this.empty(res, 201, headers);
  }

  private async deleteManifest(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    const ref = m[2]!;
    await this.auth.authorize(req, del(name));
    if (isDigestLike(ref)) await this.storage.deleteManifest(name, checkDigest(ref));
    else if (isTag(ref)) await this.storage.deleteTag(name, ref);
    else throw regError('TAG_INVALID', 'invalid tag', { tag: ref });
    this.empty(res, 202, {});
  }

  // ---- blobs ----

  private async getBlob(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, pull(name));
    const digest = checkDigest(m[2]!);
    const size = await this.storage.linkedBlob(name, digest);
    if (size === undefined) throw regError('BLOB_UNKNOWN', undefined, { digest });
    const head = req.method === 'HEAD';
    let fh: ReaderAt | undefined;
    try {
      if (head) await this.storage.content.info(digest);
      else fh = await this.storage.content.readerAt(digest);
    } catch {
      await this.storage.forgetBlob(name, digest);
      throw regError('BLOB_UNKNOWN', undefined, { digest });
    }
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Cache-Control', 'max-age=31536000');
    res.setHeader('Content-Type', 'application/octet-stream');
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      await fh?.close();
      throw regError('RANGE_INVALID', 'requested range not satisfiable', { size }).withHeaders({ 'Content-Range': `bytes */${size}` });
    }
    let start = 0;
    let end = size - 1;
    if (range) {
      ({ start, end } = range);
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    } else res.statusCode = 200;
    res.setHeader('Content-Length', end - start + 1);
    if (!fh || end < start) {
      await fh?.close();
      res.end();
      return;
    }
    await sendFileRange(fh, res, start, end + 1);
  }

  private async deleteBlob(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, del(name));
    await this.storage.unlinkBlob(name, checkDigest(m[2]!));
    this.empty(res, 202, {});
  }

  // ---- uploads ----

  private uploadHeaders(name: string, u: Upload): Record<string, string> {
    return { Location: `/v2/${name}/blobs/uploads/${u.uuid}`, Range: rangeHeader(u.size), 'Docker-Upload-UUID': u.uuid };
  }

  /** How large the upload may grow before the repository's quota is exceeded (undefined: no quota). */
  private async uploadLimit(name: string): Promise<number | undefined> {
    if (!this.opts.quotaPerRepo) return undefined;
    return Math.max(0, this.opts.quotaPerRepo - (await this.storage.usage(name)));
  }

  private quotaError(name: string): () => RegistryError {
    return () => regError('DENIED', `repository quota exceeded: ${name} may hold at most ${this.opts.quotaPerRepo} bytes`, { name, quota: this.opts.quotaPerRepo });
  }

  private async startUpload(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, q: URLSearchParams): Promise<void> {
    const name = m[1]!;
    const principal: Principal = await this.auth.authorize(req, push(name));
    const mount = q.get('mount');
    const from = q.get('from');
    if (mount && from) {
      const digest = checkDigest(mount);
      checkName(from);
      if (principal.can('repository', from, 'pull') && (await this.storage.mount(name, from, digest))) {
        this.empty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        return;
      }
    }
    const digestParam = q.get('digest');
    const digest = digestParam !== null ? checkDigest(digestParam) : undefined;
    const u = await this.uploads.create(name);
    if (digest === undefined) {
      req.resume();
      this.empty(res, 202, this.uploadHeaders(name, u));
      return;
    }
    // Monolithic: the whole blob in the POST.
    await this.uploads.exclusive(u, () => this.complete(req, res, name, u, digest));
  }

  private async uploadStatus(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, push(name));
    const u = this.uploads.get(name, m[2]!);
    this.empty(res, 204, this.uploadHeaders(name, u));
  }

  private async patchUpload(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, push(name));
    const u = this.uploads.get(name, m[2]!);
    await this.uploads.exclusive(u, async () => {
      const cr = req.headers['content-range'];
      const range = cr ? parseContentRange(cr, u.size, u.uuid) : undefined;
      await this.uploads.append(u, req, { start: range?.start, length: range?.length ?? contentLength(req), limit: await this.uploadLimit(name), limitError: this.quotaError(name) });
      this.empty(res, 202, this.uploadHeaders(name, u));
    });
  }

  private async finishUpload(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, q: URLSearchParams): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, push(name));
    const u = this.uploads.get(name, m[2]!);
    const digestParam = q.get('digest');
    if (!digestParam) throw regError('DIGEST_INVALID', 'digest missing');
    const digest = checkDigest(digestParam);
    await this.uploads.exclusive(u, () => this.complete(req, res, name, u, digest));
  }

  /** Take the request's body as the last chunk, verify the digest, store and link the blob. Nothing
   *  is kept when the digest does not match or the quota refuses it. */
  private async complete(req: IncomingMessage, res: ServerResponse, name: string, u: Upload, digest: string): Promise<void> {
    try {
      if (hasBody(req)) {
        const cr = req.headers['content-range'];
        const range = cr ? parseContentRange(cr, u.size, u.uuid) : undefined;
        await this.uploads.append(u, req, { start: range?.start, length: range?.length ?? contentLength(req), limit: await this.uploadLimit(name), limitError: this.quotaError(name) });
      }
      const actual = await this.uploads.digest(u);
      if (actual !== digest) {
        throw regError('DIGEST_INVALID', `provided digest did not match uploaded content: expected ${digest}, got ${actual} (${u.size} bytes); nothing was kept`, { expected: digest, actual, size: u.size });
      }
      await this.uploads.sync(u);
      await this.storage.commitBlob(name, u.data, digest, u.size);
    } catch (e) {
      // A chunk refused for its range or size leaves the upload as it was; anything else ends it.
      if (!(e instanceof RegistryError && (e.code === 'RANGE_INVALID' || e.code === 'SIZE_INVALID'))) await this.uploads.remove(u);
      throw e;
    }
    await this.uploads.remove(u);
    this.empty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  private async cancelUpload(req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): Promise<void> {
    const name = m[1]!;
    await this.auth.authorize(req, push(name));
    const u = this.uploads.get(name, m[2]!);
    await this.uploads.exclusive(u, () => this.uploads.remove(u));
    this.empty(res, 204, {});
  }

  // ---- token endpoint ----

  private async token(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): Promise<void> {
    const issuer = this.issuer!;
    if (req.method === 'GET') {
      const t = await issuer.issue(basicCredentials(req), q.get('service') ?? undefined, q.getAll('scope'));
      return this.json(req, res, 200, t);
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams((await readBody(req, 64 * 1024, 'token request')).toString('utf8'));
      if (form.get('grant_type') !== 'password') {
        return this.json(req, res, 400, { error: 'unsupported_grant_type', error_description: 'only the password grant is supported' });
      }
      const t = await issuer.issue({ user: form.get('username') ?? '', password: form.get('password') ?? '' }, form.get('service') ?? undefined, [form.get('scope') ?? '']);
      return this.json(req, res, 200, { access_token: t.access_token, scope: form.get('scope') ?? '', expires_in: t.expires_in, issued_at: t.issued_at, token_type: 'Bearer' });
    }
    throw this.notAllowed(['GET', 'POST']);
  }
}

/** "127.0.0.1:5000", ":5000", "[::1]:5000", "5000" → host and port. */
export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (m) return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
  if (/^\d+$/.test(addr)) return { host: '0.0.0.0', port: Number(addr) };
  throw new Error(`invalid address ${JSON.stringify(addr)}: want HOST:PORT`);
}
