// EngineClient: the Docker Engine API over a unix socket. Version negotiation follows the docker CLI:
// GET /_ping, read the API-Version header, use min(server, ours), prefix paths with /v1.xx. Setting
// BERTH_API_VERSION or DOCKER_API_VERSION pins the version and skips the ping.
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { API_VERSION, compareVersions } from '../api/version.js';
import { ApiError, ConnectionError, isConnectFailure } from './errors.js';
import type { HostSpec } from './host.js';
import { hijack, errorMessage, type HijackedStream } from './hijack.js';
import { startDaemon } from './autostart.js';
import { traceSpan, traceStart, tracing } from '../lib/trace.js';

// The CLI's own start (node, then the modules up to this one) as the first span of a trace.
if (tracing) traceSpan('cli start (node + modules)', performance.timeOrigin);

const spanName = (method: string, path: string): string => `cli ${method} ${path.replace(/^\/v[\d.]+/, '').replace(/[0-9a-f]{64}/g, '{id}').replace(/\?.*/, '')}`;

export type QueryValue = string | number | boolean | string[] | undefined | null;
export type Query = Record<string, QueryValue>;
export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

export interface RequestOptions {
  method?: Method;
  path: string;
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  /** A raw body (a tar archive for load/import). */
  input?: Readable | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface PingResult {
  apiVersion: string;
  osType: string;
}

export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const v of value) params.append(key, v);
      continue;
    }
    params.append(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export class EngineClient {
  private readonly agent = new http.Agent({ keepAlive: true });
  private negotiated: Promise<string> | undefined;
  private serverVersion = '';

  constructor(
    readonly host: HostSpec,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The API version requests use (negotiated once). */
  apiVersion(): Promise<string> {
    this.negotiated ??= this.negotiate();
    return this.negotiated;
  }

  /** The version the server advertised in /_ping ('' when the ping was skipped). */
  get serverApiVersion(): string {
    return this.serverVersion;
  }

  private async negotiate(): Promise<string> {
    const pinned = this.env.BERTH_API_VERSION || this.env.DOCKER_API_VERSION;
    if (pinned) return pinned.replace(/^v/, '');
    const ping = await this.pingOrStart();
    this.serverVersion = ping.apiVersion;
    if (!ping.apiVersion) return API_VERSION;
    return compareVersions(ping.apiVersion, API_VERSION) < 0 ? ping.apiVersion : API_VERSION;
  }

  private async pingOrStart(): Promise<PingResult> {
    try {
      return await this.ping();
    } catch (err) {
      if (!isConnectFailure(err)) throw err;
      if (!this.host.isDefault) throw this.cannotConnect();
      await startDaemon(this.host.url, () => this.ping().then(() => true, () => false));
      return this.ping();
    }
  }

  cannotConnect(): ConnectionError {
    return new ConnectionError(
      `Cannot connect to the berth daemon at ${this.host.url}. Is the berth daemon running?`,
      'ECONNREFUSED',
    );
  }

  /** GET /_ping, unversioned as the docker CLI sends it. */
  async ping(): Promise<PingResult> {
    const res = await this.send({ method: 'GET', path: '/_ping' }, '/_ping');
    res.resume();
    return {
      apiVersion: headerString(res.headers['api-version']),
      osType: headerString(res.headers['ostype']),
    };
  }

  private async versioned(path: string, query?: Query): Promise<string> {
    const version = await this.apiVersion();
    return `/v${version}${path}${buildQuery(query)}`;
  }

  /** Send a request and return the response whatever its status. */
  async raw(opts: RequestOptions): Promise<IncomingMessage> {
    const fullPath = await this.versioned(opts.path, opts.query);
    try {
      return await this.send(opts, fullPath);
    } catch (err) {
      if (isConnectFailure(err)) throw this.cannotConnect();
      throw err;
    }
  }

  /** Send a request; a status >= 400 becomes an ApiError carrying Docker's message. */
  async request(opts: RequestOptions): Promise<IncomingMessage> {
    const res = await this.raw(opts);
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readText(res);
      throw new ApiError(res.statusCode ?? 500, errorMessage(text, res.statusMessage ?? 'error'));
    }
    return res;
  }

  /** Send a request and parse the JSON answer (undefined for an empty body, e.g. 204). */
  async json<T>(opts: RequestOptions): Promise<T> {
    const res = await this.request(opts);
    const text = await readText(res);
    return (text.trim() ? JSON.parse(text) : undefined) as T;
  }

  /** Send a request and discard the answer. */
  async call(opts: RequestOptions): Promise<number> {
    const res = await this.request(opts);
    res.resume();
    return res.statusCode ?? 200;
  }

  /** Attach/exec-start: an upgraded connection carrying stdio both ways. */
  async hijack(path: string, query: Query | undefined, body: unknown): Promise<HijackedStream> {
    const fullPath = await this.versioned(path, query);
    try {
      const end = tracing ? traceStart(spanName('POST', fullPath)) : undefined;
      const stream = await hijack(this.host.socketPath, fullPath, body);
      end?.();
      return stream;
    } catch (err) {
      if (isConnectFailure(err)) throw this.cannotConnect();
      throw err;
    }
  }

  private send(opts: RequestOptions, fullPath: string): Promise<IncomingMessage> {
    const end = tracing ? traceStart(spanName(opts.method ?? 'GET', fullPath)) : undefined;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'User-Agent': 'berth-cli', ...opts.headers };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
      } else if (Buffer.isBuffer(opts.input)) {
        payload = opts.input;
      }
      if (opts.input !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/x-tar';
      if (payload) headers['Content-Length'] = String(payload.length);
      const req = http.request({
        socketPath: this.host.socketPath,
        path: fullPath,
        method: opts.method ?? 'GET',
        headers,
        agent: this.agent,
      });
      req.once('response', (res: IncomingMessage) => {
        end?.();
        resolve(res);
      });
      req.once('error', reject);
      if (opts.input instanceof Readable) {
        opts.input.once('error', (err) => req.destroy(err));
        opts.input.pipe(req);
      } else {
        req.end(payload);
      }
    });
  }

  /**
   * Send a request whose answer comes much later (wait), resolving once the request has been written,
   * so the caller can start the container knowing the daemon has the wait in hand.
   */
  async deferred<T>(opts: RequestOptions): Promise<{ result: Promise<T> }> {
    const fullPath = await this.versioned(opts.path, opts.query);
    let sent!: () => void;
    const written = new Promise<void>((resolve) => (sent = resolve));
    const end = tracing ? traceStart(spanName(opts.method ?? 'POST', fullPath)) : undefined;
    const result = new Promise<T>((resolve, reject) => {
      const req = http.request({
        socketPath: this.host.socketPath,
        path: fullPath,
        method: opts.method ?? 'POST',
        headers: { 'User-Agent': 'berth-cli' },
        agent: this.agent,
      });
      req.once('finish', sent);
      req.once('error', (err) => {
        sent();
        reject(err);
      });
      req.once('response', (res) => {
        end?.();
        readText(res).then((text) => {
          if ((res.statusCode ?? 500) >= 400) reject(new ApiError(res.statusCode ?? 500, errorMessage(text, '')));
          else resolve(JSON.parse(text) as T);
        }, reject);
      });
      req.end();
    });
    result.catch(() => undefined); // the caller awaits it later; avoid an unhandled rejection meanwhile
    await written;
    return { result };
  }

  close(): void {
    this.agent.destroy();
  }
}

function headerString(h: string | string[] | undefined): string {
  return Array.isArray(h) ? (h[0] ?? '') : (h ?? '');
}

export async function readText(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}
