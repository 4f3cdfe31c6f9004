// Who may do what. Three modes, as distribution has them:
//  - none: everything is allowed;
//  - htpasswd: HTTP basic auth against bcrypt entries (`user:$2y$…`); any valid user may do anything;
//  - token: the registry is a resource server for Docker's token flow. A request without a valid JWT gets
//    401 with `WWW-Authenticate: Bearer realm=…,service=…,scope="repository:<name>:<actions>"`; a JWT
//    signed by the configured key, issued by the configured issuer for this service, carries the
//    `access` list of what it grants per repository.
// A small token endpoint (`/token`, --token-issue) signs such tokens for htpasswd users, with an optional
// ACL file, so the whole Bearer flow works without another service.
import { createHash, createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import bcrypt from 'bcryptjs';
import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { regError, RegistryError } from './errors.js';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface Principal {
  user?: string;
  can(type: string, name: string, action: string): boolean;
}

export interface Authenticator {
  /** Authenticate the request and check it may do all of `needed`; throws 401 with a challenge. */
  authorize(req: IncomingMessage, needed: Access[]): Promise<Principal>;
}

const EVERYONE: Principal = { can: () => true };

export const noAuth: Authenticator = {
  authorize: async () => EVERYONE,
};

export function scopeString(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(',')}`;
}

/** Parse "repository:team/app:pull,push" (names hold no ':'; types and actions none either). */
export function parseScope(s: string): Access | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

// ---- htpasswd ----

export class Htpasswd {
  private readonly users = new Map<string, string>();
  /** Credentials already checked: bcrypt is slow by design, a client sends them with every request. */
  private readonly verified = new Map<string, number>();

  constructor(file: string) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const colon = t.indexOf(':');
      if (colon <= 0) continue;
      const hash = t.slice(colon + 1);
      if (!/^\$2[aby]\$\d\d\$/.test(hash)) throw new Error(`htpasswd ${file}: only bcrypt entries are supported (user ${t.slice(0, colon)})`);
      this.users.set(t.slice(0, colon), hash);
    }
  }

  async check(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (!hash) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.verified.get(key);
    if (until && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size > 10_000) this.verified.clear();
      this.verified.set(key, Date.now() + 5 * 60_000);
    }
    return ok;
  }
}

/** user and password of a Basic Authorization header, or undefined. */
export function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const h = req.headers.authorization;
  if (!h || !/^basic /i.test(h)) return undefined;
  const text = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export class BasicAuth implements Authenticator {
  constructor(
    private readonly htpasswd: Htpasswd,
    private readonly realm: string,
  ) {}

  async authorize(req: IncomingMessage): Promise<Principal> {
    const creds = basicCredentials(req);
    if (creds && (await this.htpasswd.check(creds.user, creds.password))) return { user: creds.user, can: () => true };
    throw regError('UNAUTHORIZED', creds ? 'invalid username or password' : 'authentication required').withHeaders({ 'WWW-Authenticate': `Basic realm=${JSON.stringify(this.realm)}` });
  }
}

// ---- tokens ----

export interface TokenConfig {
  /** The token service's URL, or how to make it from the request (the server's own /token). */
  realm: string | ((req: IncomingMessage) => string);
  issuer: string;
  service: string;
  /** Keys a token's signature is checked with. */
  keys: KeyObject[];
}

/** Keys from a PEM file: certificates (a bundle, as distribution's rootcertbundle), public or private keys. */
export function loadKeys(pemFile: string): { verify: KeyObject[]; sign?: KeyObject } {
  const text = readFileSync(pemFile, 'utf8');
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  const verify: KeyObject[] = [];
  let sign: KeyObject | undefined;
  for (const b of blocks) {
    if (/PRIVATE KEY/.test(b)) {
      sign ??= createPrivateKey(b);
      verify.push(createPublicKey(sign));
    } else {
      verify.push(createPublicKey(b));
    }
  }
  if (!verify.length) throw new Error(`${pemFile}: no certificate or key found`);
  return { verify, sign };
}

function challenge(cfg: TokenConfig, req: IncomingMessage, needed: Access[], error?: string): string {
  const realm = typeof cfg.realm === 'string' ? cfg.realm : cfg.realm(req);
  let h = `Bearer realm=${JSON.stringify(realm)},service=${JSON.stringify(cfg.service)}`;
  if (needed.length) h += `,scope=${JSON.stringify(needed.map(scopeString).join(' '))}`;
  if (error) h += `,error=${JSON.stringify(error)}`;
  return h;
}

interface TokenClaims extends JWTPayload {
  access?: Access[];
}

export class TokenAuth implements Authenticator {
  constructor(private readonly cfg: TokenConfig) {}

  private refuse(req: IncomingMessage, needed: Access[], message: string, error?: string): RegistryError {
    return regError('UNAUTHORIZED', message, needed.length ? needed.map((a) => ({ Type: a.type, Name: a.name, Action: a.actions.join(',') })) : undefined).withHeaders({
      'WWW-Authenticate': challenge(this.cfg, req, needed, error),
    });
  }

  async authorize(req: IncomingMessage, needed: Access[]): Promise<Principal> {
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) throw this.refuse(req, needed, 'authentication required');
    const claims = await this.verify(h.slice(7).trim());
    if (!claims) throw this.refuse(req, needed, 'invalid token', 'invalid_token');
    const granted = Array.isArray(claims.access) ? claims.access : [];
    const can = (type: string, name: string, action: string): boolean =>
      granted.some((g) => g && g.type === type && g.name === name && Array.isArray(g.actions) && (g.actions.includes(action) || g.actions.includes('*')));
    for (const n of needed) {
      if (!n.actions.every((a) => can(n.type, n.name, a))) throw this.refuse(req, needed, 'insufficient scope', 'insufficient_scope');
    }
    return { user: typeof claims.sub === 'string' ? claims.sub : undefined, can };
  }

  private async verify(token: string): Promise<TokenClaims | undefined> {
    for (const key of this.cfg.keys) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: this.cfg.issuer, audience: this.cfg.service, clockTolerance: 60 });
        return payload as TokenClaims;
      } catch {
        // try the next key
      }
    }
    return undefined;
  }
}

// ---- the built-in token endpoint ----

interface AclRule {
  account: string;
  pattern: RegExp;
  actions: string[];
}

/** ACL lines: `ACCOUNT REPOSITORY-GLOB ACTIONS`, ACCOUNT a user, `*` (any user) or `anonymous`;
 *  ACTIONS `pull,push,delete` or `*`. What a token gets is the union of the matching rules. */
export function parseAcl(text: string): AclRule[] {
  const rules: AclRule[] = [];
  for (const line of text.split('\n')) {
    const t = line.replace(/#.*/, '').trim();
    if (!t) continue;
    const [account, glob, actions] = t.split(/\s+/);
    if (!account || !glob || !actions) throw new Error(`ACL line "${t}": want ACCOUNT REPOSITORY-GLOB ACTIONS`);
    const re = '^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$';
    rules.push({ account, pattern: new RegExp(re), actions: actions.split(',') });
  }
  return rules;
}

/** libtrust's key ID (what distribution matches a token's `kid` against): 30 bytes of the SPKI's sha256 in base32, in groups of 4. */
function libtrustKeyId(key: KeyObject): string {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const sum = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of sum) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

function signingAlg(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256';
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256';
    }
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new Error(`token key type ${key.asymmetricKeyType} is not supported (RSA, EC or Ed25519)`);
  }
}

export interface TokenIssuerConfig {
  issuer: string;
  service: string;
  key: KeyObject;
  htpasswd: Htpasswd;
  acl?: AclRule[];
  ttlSeconds?: number;
  realm: string;
}

export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

export class TokenIssuer {
  private readonly alg: string;
  private readonly kid: string;

  constructor(private readonly cfg: TokenIssuerConfig) {
    this.alg = signingAlg(cfg.key);
    this.kid = libtrustKeyId(cfg.key);
  }

  private grant(account: string | undefined, want: Access): Access | undefined {
    if (want.type === 'registry' && want.name === 'catalog') {
      return account ? { ...want, actions: ['*'] } : undefined;
    }
    if (want.type !== 'repository') return undefined;
    let allowed: Set<string>;
    if (!this.cfg.acl) {
      if (!account) return undefined;
      allowed = new Set(want.actions);
    } else {
      allowed = new Set();
      for (const r of this.cfg.acl) {
        const who = r.account === 'anonymous' ? !account : r.account === '*' ? !!account : r.account === account;
        if (!who || !r.pattern.test(want.name)) continue;
        for (const a of r.actions) {
          if (a === '*') want.actions.forEach((w) => allowed.add(w));
          else allowed.add(a);
        }
      }
    }
    const actions = want.actions.filter((a) => allowed.has(a) || (a === '*' && allowed.size > 0));
    return actions.length ? { type: want.type, name: want.name, actions } : undefined;
  }

  /** GET /token?service=&scope=… with Basic credentials (or none: anonymous), or the OAuth2 password grant. */
  async issue(creds: { user: string; password: string } | undefined, service: string | undefined, scopes: string[]): Promise<IssuedToken> {
    if (service && service !== this.cfg.service) throw regError('DENIED', `unknown service ${service}`, undefined, 400);
    let account: string | undefined;
    if (creds) {
      if (!(await this.cfg.htpasswd.check(creds.user, creds.password))) {
        throw regError('UNAUTHORIZED', 'invalid username or password').withHeaders({ 'WWW-Authenticate': `Basic realm=${JSON.stringify(this.cfg.realm)}` });
      }
      account = creds.user;
    }
    const access: Access[] = [];
    for (const s of scopes.flatMap((x) => x.split(' ')).filter(Boolean)) {
      const want = parseScope(s);
      const g = want && this.grant(account, want);
      if (g) access.push(g);
    }
    const ttl = this.cfg.ttlSeconds ?? 300;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: this.alg, typ: 'JWT', kid: this.kid })
      .setIssuer(this.cfg.issuer)
      .setSubject(account ?? '')
      .setAudience(this.cfg.service)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + ttl)
      .setJti(randomBytes(12).toString('hex'))
      .sign(this.cfg.key);
    return { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
  }
}
