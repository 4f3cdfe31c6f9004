// The Engine API's HTTP plumbing: a route table with Docker's path patterns, API version prefixes
// and negotiation, JSON bodies, Docker's error body, and hijacked connections for attach/exec.
import http from 'node:http';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION, compareVersions } from '../api/version.js';
import { BerthError, InvalidParameter, NotFound, messageOf, statusOf } from '../lib/errors.js';
import { decodeJson, GoJsonError, type GoType } from '../api/go-json.js';
import { traceStart, tracing } from '../lib/trace.js';
import type { JSONMessage } from '../api/types.js';

export interface Ctx {
  req: http.IncomingMessage;
  /** Logs a failure that is not one of ours (a bug) with its stack, and returns what the client may see. */
  fail: (e: unknown) => string;
  /** Absent when the request arrived as an HTTP upgrade (then use hijack()). */
  res?: http.ServerResponse;
  params: string[];
  query: URLSearchParams;
  /** The API version the client asked for (or the newest). */
  version: string;
  log: (msg: string) => void;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  re: RegExp;
  handler: Handler;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  error(msg: string): void;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

export class Router {
  private readonly routes: Route[] = [];

  /** pattern: Docker's path with `{name}` (no slash) and `{name:.*}` (any) placeholders. */
  on(method: string, pattern: string, handler: Handler): void {
    const src = pattern.replace(/\{[a-z]+:\.\*\}/gi, '(.+)').replace(/\{[a-z]+\}/gi, '([^/]+)');
    this.routes.push({ method, re: new RegExp(`^${src}$`), handler });
  }

  find(method: string, pathname: string): { handler: Handler; params: string[] } | undefined {
    for (const r of this.routes) {
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const m = r.re.exec(pathname);
      if (m) return { handler: r.handler, params: m.slice(1).map(decodeURIComponent) };
    }
    return undefined;
  }
}

function commonHeaders(version: string): Record<string, string> {
  return {
    'Api-Version': version,
    'Docker-Experimental': 'false',
    Ostype: 'linux',
    Server: `Docker/${ENGINE_VERSION} (linux)`,
  };
}

/** Split off and check the /vX.Y prefix as dockerd does. */
function negotiate(rawPath: string): { version: string; pathname: string } {
  const m = VERSION_PREFIX.exec(rawPath);
  if (!m) return { version: API_VERSION, pathname: rawPath };
  const v = m[1]!;
  if (compareVersions(v, API_VERSION) > 0) {
    throw new InvalidParameter(`client version ${v} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareVersions(v, MIN_API_VERSION) < 0) {
    throw new InvalidParameter(`client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
  return { version: v, pathname: m[2]! };
}

export function createServer(router: Router, logger: Logger): http.Server {
  const server = http.createServer();
  // Streams (logs -f, events, attach) stay open for as long as the client wants.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 30_000;
  server.on('request', (req, res) => void dispatch(router, logger, req, res));
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.pause(); // nothing the client sends (stdin) may flow away before a handler takes it
    // Node hands an upgraded request's body to us as raw bytes: split the request body
    // (Content-Length) from what follows it, which is the client's stdin.
    void readUpgradeBody(req, socket, head).then((body) => {
      (req as HijackableRequest).upgradeBody = body;
      return dispatch(router, logger, req, undefined, socket);
    });
  });
  return server;
}

async function dispatch(router: Router, logger: Logger, req: http.IncomingMessage, res?: http.ServerResponse, upgraded?: net.Socket): Promise<void> {
  const endSpan = tracing ? traceStart(`berthd ${req.method} ${(req.url ?? '').replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/g, '{id}').replace(/\?.*/, '')}`) : undefined;
  try {
    await dispatchRoute(router, logger, req, res, upgraded);
  } finally {
    endSpan?.();
  }
}

async function dispatchRoute(router: Router, logger: Logger, req: http.IncomingMessage, res?: http.ServerResponse, upgraded?: net.Socket): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://berth');
  let version = API_VERSION;
  try {
    const n = negotiate(url.pathname);
    version = n.version;
    const route = router.find(req.method ?? 'GET', n.pathname.replace(/\/+$/, '') || '/');
    logger.debug(`${req.method} ${url.pathname}${url.search}`);
    if (!route) throw new NotFound(`page not found`);
    (req as HijackableRequest).upgradedSocket = upgraded;
    const fail = (e: unknown) => clientMessage(e, `${req.method} ${n.pathname}`, logger);
    await route.handler({ req, res, params: route.params, query: url.searchParams, version, log: (m) => logger.debug(m), fail });
  } catch (e) {
    const status = statusOf(e);
    const message = clientMessage(e, `${req.method} ${url.pathname}`, logger);
    if (status >= 500) logger.error(`${req.method} ${url.pathname}: ${message}`);
    else logger.debug(`${req.method} ${url.pathname}: ${status} ${message}`);
    sendError(res ?? upgraded!, status, message, version);
  }
}

/**
 * What a client is told about an error: ours carry a message meant for users; anything else (a
 * TypeError, a Node error without a code of ours) is a bug in berthd, logged with its stack and shown
 * as an internal error, never as `x is not iterable`.
 */
export function clientMessage(e: unknown, request: string, logger: Logger): string {
  if (e instanceof BerthError) return e.message;
  const detail = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  logger.error(`internal error handling ${request}: ${e instanceof Error ? (e.stack ?? detail) : detail}`);
  return `internal error handling ${request}: ${detail} (see berthd log)`;
}

interface HijackableRequest extends http.IncomingMessage {
  upgradedSocket?: net.Socket;
  upgradeBody?: Buffer;
}

async function readUpgradeBody(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<Buffer> {
  const want = Number(req.headers['content-length'] ?? 0);
  let buf = head;
  while (buf.length < want) {
    const chunk = await new Promise<Buffer | null>((resolve) => {
      const onData = (d: Buffer) => (cleanup(), resolve(d));
      const onEnd = () => (cleanup(), resolve(null));
      const cleanup = () => (socket.off('data', onData), socket.off('end', onEnd), socket.off('close', onEnd), socket.pause());
      socket.on('data', onData);
      socket.once('end', onEnd);
      socket.once('close', onEnd);
      socket.resume();
    });
    if (!chunk) break;
    buf = Buffer.concat([buf, chunk]);
  }
  if (buf.length > want) socket.unshift(buf.subarray(want));
  return buf.subarray(0, want);
}

function sendError(target: http.ServerResponse | net.Socket, status: number, message: string, version: string): void {
  const body = JSON.stringify({ message }) + '\n';
  if (target instanceof http.ServerResponse) {
    if (target.headersSent) {
      target.destroy();
      return;
    }
    if (status === 304) {
      target.writeHead(304, commonHeaders(version)).end();
      return;
    }
    // With a length, as dockerd: docker-py reads a chunked reply to a streaming call as a stream, not an error.
    target.writeHead(status, { ...commonHeaders(version), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
    return;
  }
  const head = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  target.end(head.join('\r\n') + '\r\n\r\n' + (status === 304 ? '' : body));
}

// ---- helpers for handlers ----

export function sendJson(ctx: Ctx, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  ctx.res!.writeHead(status, { ...commonHeaders(ctx.version), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
}

export function sendStatus(ctx: Ctx, status: number, text = ''): void {
  ctx.res!.writeHead(status, { ...commonHeaders(ctx.version), 'Content-Type': 'text/plain; charset=utf-8' }).end(text);
}

/** Start a streamed response (logs, events, progress). */
export function startStream(ctx: Ctx, contentType: string): http.ServerResponse {
  const res = ctx.res!;
  res.writeHead(200, { ...commonHeaders(ctx.version), 'Content-Type': contentType });
  res.flushHeaders();
  return res;
}

/** A JSON-message progress stream; an error after the headers went out travels as errorDetail. */
export async function progressStream(ctx: Ctx, work: (send: (m: JSONMessage) => void) => Promise<void>, opts: { headersFirst?: boolean } = {}): Promise<void> {
  let res: ReturnType<typeof startStream> | undefined = opts.headersFirst ? startStream(ctx, 'application/json') : undefined;
  const send = (m: JSONMessage) => {
    res ??= startStream(ctx, 'application/json');
    res.write(JSON.stringify(m) + '\n');
  };
  try {
    await work(send);
  } catch (e) {
    if (!res) throw e;
    const message = ctx.fail(e);
    send({ error: message, errorDetail: { message } });
  }
  (res ?? startStream(ctx, 'application/json')).end();
}

async function readBodyText(ctx: Ctx): Promise<string> {
  const upgradeBody = (ctx.req as HijackableRequest).upgradeBody;
  if (upgradeBody) return upgradeBody.toString();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of ctx.req) {
    size += (c as Buffer).length;
    if (size > 16 * 1024 * 1024) throw new InvalidParameter('request body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString();
}

export async function readJsonBody<T>(ctx: Ctx): Promise<T> {
  return parseJson<T>(await readBodyText(ctx));
}

/**
 * Read a request body as dockerd decodes it into its Go struct (`schema`, see api/schemas.ts): Go's
 * words for a wrong type, a 400 before anything is created, nulls gone. An empty body is refused as
 * dockerd refuses it, unless the route allows one (`optional`).
 */
export async function readBody<T>(ctx: Ctx, schema: GoType, opts: { optional?: boolean } = {}): Promise<T> {
  const text = await readBodyText(ctx);
  if (!text.trim()) {
    if (opts.optional) return {} as T;
    throw new InvalidParameter('got EOF while reading request body');
  }
  try {
    return decodeJson<T>(text, schema);
  } catch (e) {
    if (e instanceof GoJsonError) throw new InvalidParameter(e.message);
    throw e;
  }
}

function parseJson<T>(text: string): T {
  if (!text.trim()) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new InvalidParameter(`invalid JSON: ${messageOf(e)}`);
  }
}

/** Take over the connection as dockerd does for attach and exec start: 101 UPGRADED when the client
 *  asked to upgrade, else a 200 whose body is the raw stream. */
export function hijack(ctx: Ctx, contentType: string): Duplex {
  const sock = (ctx.req as HijackableRequest).upgradedSocket;
  if (sock) {
    sock.setNoDelay(true);
    sock.write(['HTTP/1.1 101 UPGRADED', `Content-Type: ${contentType}`, 'Connection: Upgrade', 'Upgrade: tcp', ...Object.entries(commonHeaders(ctx.version)).map(([k, v]) => `${k}: ${v}`)].join('\r\n') + '\r\n\r\n');
    return sock;
  }
  const res = startStream(ctx, contentType);
  return Duplex.from({ readable: ctx.req, writable: res });
}

// ---- query parsing (Docker's conventions) ----

export function qBool(q: URLSearchParams, key: string, dflt = false): boolean {
  const v = q.get(key);
  if (v === null) return dflt;
  return !['', '0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function qInt(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  // dockerd parses these with strconv.Atoi: an integer, or its error.
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidParameter(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

/** `filters` in both of Docker's encodings: {"k":["v"]} and the legacy {"k":{"v":true}}. */
export function qFilters(q: URLSearchParams): Record<string, string[]> {
  const raw = q.get('filters');
  if (!raw) return {};
  let parsed: Record<string, string[] | Record<string, boolean>>;
  try {
    parsed = JSON.parse(raw) as typeof parsed;
  } catch {
    throw new InvalidParameter(`invalid filter: ${raw}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed)) out[k] = Array.isArray(v) ? v : Object.keys(v).filter((x) => v[x]);
  return out;
}

export { commonHeaders };
