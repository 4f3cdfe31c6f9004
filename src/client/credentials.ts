// Registry credentials shared with the docker CLI: ~/.docker/config.json (or $DOCKER_CONFIG), its `auths`
// (base64 "user:password"), and `credsStore` / `credHelpers` through docker-credential-<name> helpers
// (the docker-credential-helpers protocol: get/store/erase on stdin and stdout).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcessSync } from '../lib/exec.js';

export const DOCKER_HUB_SERVER = 'https://index.docker.io/v1/';

export interface AuthConfig {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

function configPath(env: NodeJS.ProcessEnv): string {
  return path.join(configDir(env), 'config.json');
}

function readConfig(env: NodeJS.ProcessEnv): ConfigFile {
  const file = configPath(env);
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConfigFile;
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}: fix or remove the file`);
  }
}

/** Atomic write, mode 0600 as the docker CLI keeps it. */
function writeConfig(env: NodeJS.ProcessEnv, cfg: ConfigFile): void {
  const file = configPath(env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The key a registry's credentials live under: Docker Hub's legacy URL, else the host. */
export function serverKey(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' || host === DOCKER_HUB_SERVER ? DOCKER_HUB_SERVER : host.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

function helperFor(cfg: ConfigFile, key: string): string | undefined {
  return cfg.credHelpers?.[key] ?? cfg.credsStore;
}

function callHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): string {
  const r = runProcessSync(`docker-credential-${helper}`, [action], { input, encoding: 'utf8' });
  if (r.error) throw new Error(`docker-credential-${helper}: ${r.error.message} (is the credential helper installed?)`);
  if (r.status !== 0) {
    const msg = (r.stdout || r.stderr).trim();
    if (action === 'get' && /credentials not found/i.test(msg)) return '';
    throw new Error(`docker-credential-${helper} ${action}: ${msg}`);
  }
  return r.stdout;
}

/** Stored credentials for a registry host ({} when none). */
export function getCredentials(env: NodeJS.ProcessEnv, host: string): AuthConfig {
  const cfg = readConfig(env);
  const key = serverKey(host);
  const helper = helperFor(cfg, key);
  if (helper) {
    const out = callHelper(helper, 'get', key);
    if (!out.trim()) return {};
    const c = JSON.parse(out) as { Username: string; Secret: string };
    return c.Username === '<token>' ? { identitytoken: c.Secret, serveraddress: key } : { username: c.Username, password: c.Secret, serveraddress: key };
  }
  const entry = cfg.auths?.[key] ?? (key === DOCKER_HUB_SERVER ? cfg.auths?.['docker.io'] : undefined);
  if (!entry) return {};
  const out: AuthConfig = { serveraddress: key };
  if (entry.auth) {
    const [u, ...p] = Buffer.from(entry.auth, 'base64').toString('utf8').split(':');
    out.username = u;
    out.password = p.join(':');
  }
  if (entry.identitytoken) out.identitytoken = entry.identitytoken;
  return out;
}

export function storeCredentials(env: NodeJS.ProcessEnv, host: string, auth: AuthConfig): void {
  const cfg = readConfig(env);
  const key = serverKey(host);
  const helper = helperFor(cfg, key);
  if (helper) {
    callHelper(helper, 'store', JSON.stringify({ ServerURL: key, Username: auth.username, Secret: auth.password }));
    cfg.auths = { ...(cfg.auths ?? {}), [key]: {} };
  } else {
    cfg.auths = { ...(cfg.auths ?? {}), [key]: { auth: Buffer.from(`${auth.username}:${auth.password}`).toString('base64') } };
  }
  writeConfig(env, cfg);
}

/** Returns false when there was nothing stored for the host. */
export function eraseCredentials(env: NodeJS.ProcessEnv, host: string): boolean {
  const cfg = readConfig(env);
  const key = serverKey(host);
  const had = !!cfg.auths?.[key];
  const helper = helperFor(cfg, key);
  if (helper) callHelper(helper, 'erase', key);
  if (cfg.auths?.[key]) {
    delete cfg.auths[key];
    writeConfig(env, cfg);
  }
  return had;
}

/** The X-Registry-Auth header: base64url JSON, as the docker CLI sends it. */
export function encodeRegistryAuth(auth: AuthConfig): string {
  return Buffer.from(JSON.stringify(auth)).toString('base64url');
}
