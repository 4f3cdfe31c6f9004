// Raw HTTP for tests: the Engine API over a daemon's unix socket (as SDKs send it, without berth's client),
// and plain GETs of published ports on this machine.
import http, { type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** A daemon's socket, or anything that has one (a TestDaemon, a PrivateDockerd). */
export type Engine = string | { socket: string };

/** One request; a body that is not a Buffer is sent as JSON. */
export function api(engine: Engine, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Reply> {
  const socketPath = typeof engine === 'string' ? engine : engine.socket;
  const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path, headers: data ? { 'Content-Type': contentType, 'Content-Length': data.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** GET http://host:port/ with a bounded wait: the body, or `error:<code>`. */
export function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code ?? e.message}`));
  });
}

/** httpGet once the server listens: a detached container's server may take a moment to start. */
export async function httpGetReady(port: number, host = '127.0.0.1'): Promise<string> {
  let body = await httpGet(port, host);
  for (let i = 0; i < 100 && body === 'error:ECONNREFUSED'; i++) {
    await new Promise((r) => setTimeout(r, 100));
    body = await httpGet(port, host);
  }
  return body;
}
