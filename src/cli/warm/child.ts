// A warm CLI child (docs/notes/cli.md): started by server.ts with every command module already loaded,
// it waits for one connection from the native front end, takes the user's fds 0-2 from it (SCM_RIGHTS,
// through the small Node-API addon src/shim/berth-fdpass.node, before anything has touched
// process.stdout), adopts the working directory, umask, environment and argv, and then runs the
// command exactly as a fresh `node dist/src/cli/main.js` would (cli.ts's runCli, which exits).
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type net from 'node:net';
import { fileURLToPath } from 'node:url';
import { preloadCommands, runCli } from '../cli.js';

interface FdPass {
  adopt(fd: number, timeoutMs: number): Buffer;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN_JS = path.join(here, '..', 'main.js');
const addon = createRequire(import.meta.url)(path.join(here, '../../../../src/shim/berth-fdpass.node')) as FdPass;

/** cwd, umask (octal), argc, argv..., envc, env... each NUL-terminated (berth-cli.c's send_request). */
function parseRequest(buf: Buffer): { cwd: string; umask: number; argv: string[]; env: Record<string, string> } {
  const f = buf.toString('utf8').split('\0');
  let i = 0;
  const cwd = f[i++]!;
  const umask = parseInt(f[i++]!, 8);
  const argc = Number(f[i++]);
  const argv = f.slice(i, i + argc);
  i += argc;
  const envc = Number(f[i++]);
  const env: Record<string, string> = {};
  for (const kv of f.slice(i, i + envc)) {
    const eq = kv.indexOf('=');
    if (eq > 0 && !(kv.slice(0, eq) in env)) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { cwd, umask, argv, env };
}

const held: net.Socket[] = []; // the connection stays referenced: its fd carries the exit status back

function take(sock: net.Socket): void {
  held.push(sock);
  const handle = (sock as unknown as { _handle: { fd: number; readStop(): number } })._handle;
  handle.readStop(); // the request (and its fds) is read by the addon, not by libuv
  const fd = handle.fd;
  const tHanded = process.hrtime.bigint();
  let req;
  try {
    req = parseRequest(addon.adopt(fd, 5000));
    process.chdir(req.cwd);
  } catch (err) {
    // Nothing has run: the front end runs the command directly instead.
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    try {
      writeSync(fd, 'D\n');
    } catch {
      /* it went away */
    }
    process.exit(0);
  }
  const tAdopted = process.hrtime.bigint();
  // The exit status goes to the front end straight from here (stdout and stderr are drained by then): it
  // need not wait for this process's teardown and the server noticing. A fatal signal leaves it to the server.
  process.once('exit', (code) => {
    try {
      writeSync(fd, `X${code}\n`);
    } catch {
      /* the front end went away */
    }
  });
  process.disconnect();
  process.umask(req.umask);
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.argv = [process.execPath, MAIN_JS, ...req.argv];
  if (req.env.BERTH_CLI_TRACE && req.env.BERTH_CLI_TRACE !== '0') {
    const ms = (t: bigint): string => (Number(t) / 1e6).toFixed(3);
    process.stderr.write(`berth-cli child: handed at monotonic ${ms(tHanded)}, fds adopted at ${ms(tAdopted)}\n`);
    process.prependOnceListener('exit', () => process.stderr.write(`berth-cli child: exits at monotonic ${ms(process.hrtime.bigint())}\n`));
  }
  runCli(req.argv);
}

let taken = false;
process.once('message', (_m: unknown, sock: net.Socket | undefined) => {
  if (!sock) process.exit(1);
  taken = true;
  take(sock);
});
// The server went away (stopped, or killed) before handing this child a command: nothing to wait for.
process.once('disconnect', () => {
  if (!taken) process.exit(0);
});
await preloadCommands();
process.send!({ ready: true });
