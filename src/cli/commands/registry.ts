// `registry serve` and `registry gc`: the OCI distribution server (src/registry) run in this process,
// not in berthd — a registry is a service of its own, with its own root.
import { parseDuration, ramInBytes } from '../../lib/units.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';

function need(f: ParsedFlags, flag: string, why: string): string {
  const v = f.str(flag);
  if (!v) throw new StatusError(`${why} needs --${flag}`, 125);
  return v;
}

async function serve(ctx: Context, f: ParsedFlags): Promise<number> {
  const { RegistryServer } = await import('../../registry/server.js');
  const root = need(f, 'root', 'registry serve');
  let uploadTtlMs: number;
  let quota = 0;
  try {
    uploadTtlMs = parseDuration(f.str('upload-ttl'));
    if (f.str('quota-per-repo')) quota = ramInBytes(f.str('quota-per-repo'));
  } catch (e) {
    throw new StatusError((e as Error).message, 125);
  }
  if (uploadTtlMs <= 0) throw new StatusError('--upload-ttl must be positive', 125);
  const tokenFlags = ['token-realm', 'token-issuer', 'token-service', 'token-key'].filter((n) => f.str(n));
  let token;
  if (tokenFlags.length || f.bool('token-issue')) {
    token = {
      realm: f.str('token-realm') || undefined,
      issuer: need(f, 'token-issuer', 'token auth'),
      service: need(f, 'token-service', 'token auth'),
      keyFile: need(f, 'token-key', 'token auth'),
      issue: f.bool('token-issue'),
      aclFile: f.str('token-acl') || undefined,
    };
    if (!token.realm && !token.issue) throw new StatusError('token auth needs --token-realm (or --token-issue to serve tokens here)', 125);
  }
  if (!!f.str('tls-cert') !== !!f.str('tls-key')) throw new StatusError('--tls-cert and --tls-key go together', 125);
  let server;
  try {
    server = await RegistryServer.start({
      root,
      addr: f.str('addr'),
      htpasswd: f.str('htpasswd') || undefined,
      realm: f.str('realm') || undefined,
      token,
      tls: f.str('tls-cert') ? { cert: f.str('tls-cert'), key: f.str('tls-key') } : undefined,
      readOnly: f.bool('read-only'),
      uploadTtlMs,
      quotaPerRepo: quota,
      maxUploads: f.num('max-uploads'),
      accessLog: f.bool('access-log') ? (l) => ctx.stdout.write(l + '\n') : undefined,
      errorLog: (l) => ctx.stderr.write(`error: ${l}\n`),
    });
  } catch (e) {
    throw new StatusError(`registry serve: ${(e as Error).message}`, 1);
  }
  const mode = [f.bool('read-only') ? 'read-only' : '', token ? 'token auth' : f.str('htpasswd') ? 'basic auth' : '', quota ? `quota ${quota} bytes per repository` : ''].filter(Boolean);
  await writeOut(ctx.stdout, `berth registry listening on ${server.url} (root ${root}${mode.length ? ', ' + mode.join(', ') : ''})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

async function gc(ctx: Context, f: ParsedFlags): Promise<number> {
  const { collectGarbage } = await import('../../registry/gc.js');
  const root = need(f, 'root', 'registry gc');
  try {
    await collectGarbage({ root, dryRun: f.bool('dry-run'), deleteUntagged: f.bool('delete-untagged'), log: (l) => ctx.stdout.write(l + '\n') });
  } catch (e) {
    throw new StatusError(`registry gc: ${(e as Error).message}`, 1);
  }
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  'registry serve': {
    usage: '[OPTIONS]',
    description: 'Serve an OCI distribution (Docker registry v2) API from a local directory',
    args: { max: 0 },
    flags: [
      { name: 'addr', type: 'string', default: '127.0.0.1:5000', description: 'Address to listen on (HOST:PORT)' },
      { name: 'root', type: 'string', description: 'Directory holding the registry content (required)' },
      { name: 'htpasswd', type: 'string', description: 'htpasswd file (bcrypt entries) for basic auth, or the users of --token-issue' },
      { name: 'realm', type: 'string', default: 'berth registry', description: 'Realm of the basic auth challenge' },
      { name: 'token-realm', type: 'string', description: 'URL of the token service named in Bearer challenges' },
      { name: 'token-issuer', type: 'string', description: 'Issuer (iss) a token must have' },
      { name: 'token-service', type: 'string', description: 'Service name (aud) a token must be for' },
      { name: 'token-key', type: 'string', description: 'PEM with the certificates or public keys tokens are signed with (a private key also signs tokens with --token-issue)' },
      { name: 'token-issue', type: 'bool', description: 'Serve a token endpoint at /token for the --htpasswd users' },
      { name: 'token-acl', type: 'string', description: 'ACL for issued tokens: lines "ACCOUNT REPOSITORY-GLOB ACTIONS"' },
      { name: 'tls-cert', type: 'string', description: 'TLS certificate (PEM)' },
      { name: 'tls-key', type: 'string', description: 'TLS private key (PEM)' },
      { name: 'read-only', type: 'bool', description: 'Refuse every write (405 UNSUPPORTED)' },
      { name: 'upload-ttl', type: 'string', default: '24h', description: 'Remove uploads idle for this long' },
      { name: 'quota-per-repo', type: 'string', description: 'Largest total blob size of one repository (e.g. 500MiB); 403 DENIED beyond it' },
      { name: 'max-uploads', type: 'int', default: 1000, description: 'Uploads in progress at once (429 TOOMANYREQUESTS beyond)' },
      { name: 'access-log', type: 'bool', description: 'Print one line per request' },
    ],
    run: serve,
  },
  'registry gc': {
    usage: '[OPTIONS]',
    description: 'Delete the blobs no manifest of the registry refers to',
    args: { max: 0 },
    flags: [
      { name: 'root', type: 'string', description: 'Directory holding the registry content (required)' },
      { name: 'dry-run', type: 'bool', description: 'Print what would be deleted, delete nothing' },
      { name: 'delete-untagged', type: 'bool', description: 'Also delete manifests no tag reaches' },
    ],
    run: gc,
  },
};
