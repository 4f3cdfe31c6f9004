// Registry authentication as the distribution spec and Docker Hub do it: a 401 carries a challenge
// (`WWW-Authenticate: Basic realm=…` or `Bearer realm=…,service=…,scope=…`); for Bearer the client asks the
// realm for a token with the scope it needs (with basic credentials when it has some), then retries.
import { InvalidParameter } from '../lib/errors.js';

/** Docker's AuthConfig, as the CLI sends it base64-encoded in X-Registry-Auth. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
  serveraddress?: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parse `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="…"`. */
export function parseChallenge(header: string | null | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p: RegExpExecArray | null; (p = re.exec(m[2]!)); ) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme, params };
}

/** X-Registry-Auth: base64url (or plain base64) JSON; empty or "{}" means anonymous. */
export function decodeRegistryAuth(header: string | undefined | null): AuthConfig {
  if (!header) return {};
  try {
    const json = Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
    const cfg = JSON.parse(json || '{}') as AuthConfig;
    if (cfg.auth && !cfg.username) {
      const [u, ...p] = Buffer.from(cfg.auth, 'base64').toString('utf8').split(':');
      cfg.username = u;
      cfg.password = p.join(':');
    }
    return cfg;
  } catch {
    throw new InvalidParameter('invalid X-Registry-Auth header: expected base64-encoded JSON credentials');
  }
}

export function basicHeader(auth: AuthConfig): string | undefined {
  if (!auth.username && !auth.password) return undefined;
  return 'Basic ' + Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
}
