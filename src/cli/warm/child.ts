// A warm CLI child (docs/notes/cli.md): started by server.ts with every command module already loaded,
// it waits for a connection from the native front end, takes the user's fds 0-2 from it (SCM_RIGHTS,
// through the small Node-API addon src/shim/berth-fdpass.node), adopts the working directory, umask,
// environment and argv, and runs the command exactly as a fresh `node dist/src/cli/main.js` would
// (cli.ts's runCli).
//
// Most commands end the child (process.exit, as a direct run ends): one process per command keeps
// process-global state (signal handlers, stdin, raw mode, timers) from leaking into the next. Read-only
// commands that touch none of it (REUSABLE: ps, images, inspect, version, logs without -f, ...) may serve
// the next command too, when afterwards nothing is left over (no new process listeners, stdin never
// opened, no handle left open, no exitCode set). For that its stdout/stderr are its own streams on
// copies of fds 1 and 2, made like Node's own (a tty.WriteStream for a terminal, synchronous writes for
// a file, a socket for a pipe), and let go, with /dev/null put back on 0-2, before the status is sent.
import { closeSync, fstatSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import tty from 'node:tty';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { preloadCommands, runCli } from '../cli.js';
import { mayReuse } from './reuse.js';
import { rehearse } from './rehearse.js';

interface FdPass {
  adopt(fd: number, timeoutMs: number): Buffer;
  dup(fd: number): number;
  release(): void;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const MAIN_JS = path.join(here, '..', 'main.js');
const addon = createRequire(import.meta.url)(path.join(here, '../../../../src/shim/berth-fdpass.node')) as FdPass;
const MAX_COMMANDS = 100;

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

// ---- stdout/stderr of our own (Node's are made once per process) ----

type Stdio = NodeJS.WriteStream & { fd: number; _type?: string; _isStdio?: boolean; _refreshSize?: () => void };
const streams: { stdout?: Stdio; stderr?: Stdio } = {};

/** As Node makes process.stdout for fd (createWritableStdioStream), on a copy of it. */
function makeStdio(fd: number): Stdio {
  const copy = addon.dup(fd);
  let s: Stdio;
  if (tty.isatty(copy)) {
    s = new tty.WriteStream(copy) as Stdio;
    s._type = 'tty';
  } else {
    const st = fstatSync(copy);
    if (st.isFIFO() || st.isSocket()) {
      s = new net.Socket({ fd: copy, readable: false, writable: true }) as unknown as Stdio;
      s._type = 'pipe';
    } else {
      // A file or a device: synchronous writes (Node's SyncWriteStream).
      s = new Writable({
        write(chunk: Buffer, _enc, cb) {
          try {
            for (let off = 0; off < chunk.length; ) off += writeSync(copy, chunk, off);
            cb();
          } catch (e) {
            cb(e as Error);
          }
        },
        destroy(err, cb) {
          try {
            closeSync(copy);
          } catch {
            /* already closed */
          }
          cb(err);
        },
      }) as unknown as Stdio;
      s._type = 'fs';
    }
  }
  s.fd = fd;
  s._isStdio = true;
  return s;
}

function closeStdio(s: Stdio | undefined): void {
  s?.destroy(); // closes the copy
}

let stdinUsed = false;
const nodeStdin = Object.getOwnPropertyDescriptor(process, 'stdin')!.get!;
Object.defineProperty(process, 'stdin', {
  configurable: true,
  enumerable: true,
  get: () => {
    stdinUsed = true;
    return nodeStdin.call(process);
  },
});
for (const [name, fd] of [['stdout', 1], ['stderr', 2]] as const) {
  Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => (streams[name] ??= makeStdio(fd)) });
}
process.on('SIGWINCH', () => {
  for (const s of [streams.stdout, streams.stderr]) if (s?.isTTY) s._refreshSize?.();
});

// ---- serving ----

const WATCHED = ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGWINCH', 'SIGQUIT', 'uncaughtException', 'unhandledRejection', 'beforeExit'] as const;
const listenerCounts = (): string => WATCHED.map((e) => process.listenerCount(e)).join(',');
const activeHandles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;

let served = 0;
let baseline = { listeners: '', handles: 0 };

function take(sock: net.Socket): void {
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
  // Streams made since the last command (Node's net code looks at process.stderr while closing a socket)
  // are on the old fds: made again, lazily, on the new ones.
  for (const s of [streams.stdout, streams.stderr]) s?.destroy();
  streams.stdout = streams.stderr = undefined;
  const reuse = served + 1 < MAX_COMMANDS && mayReuse(req.argv);
  process.send!({ busy: true, reuse });
  // The status goes to the front end straight from here (stdout and stderr are drained by then): it
  // need not wait for this process's teardown and the server noticing. A fatal signal leaves it to the server.
  const report = (code: number): void => {
    try {
      writeSync(fd, `X${code}\n`);
    } catch {
      /* the front end went away */
    }
  };
  const onExit = (code: number): void => report(code);
  process.once('exit', onExit);
  process.umask(req.umask);
  for (const k of Object.keys(process.env)) delete process.env[k];
  Object.assign(process.env, req.env);
  process.argv = [process.execPath, MAIN_JS, ...req.argv];
  process.exitCode = undefined;
  const trace = req.env.BERTH_CLI_TRACE && req.env.BERTH_CLI_TRACE !== '0';
  if (trace) {
    const ms = (t: bigint): string => (Number(t) / 1e6).toFixed(3);
    process.stderr.write(`berth-cli child: command ${served + 1}, handed at monotonic ${ms(tHanded)}, fds adopted at ${ms(tAdopted)}\n`);
  }
  const before = { listeners: listenerCounts(), handles: activeHandles() };
  runCli(req.argv, (code) => {
    served++;
    if (trace) process.stderr.write(`berth-cli child: done at monotonic ${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)}\n`);
    if (trace) process.stderr.write(`berth-cli child: reuse ${reuse} stdin ${stdinUsed} exitCode ${process.exitCode} listeners ${before.listeners} -> ${listenerCounts()} handles ${baseline.handles} -> ${activeHandles()}\n`);
    if (!reuse || stdinUsed || process.exitCode !== undefined || listenerCounts() !== before.listeners) {
      process.exit(code);
      return;
    }
    // Let go of everything of this command's, then check nothing else is left open.
    process.off('exit', onExit);
    closeStdio(streams.stdout);
    closeStdio(streams.stderr);
    streams.stdout = streams.stderr = undefined;
    addon.release();
    report(code);
    sock.destroy();
    // (Two turns of the loop: handles being closed leave the list in the close phase, after setImmediate.)
    setImmediate(() =>
      setImmediate(() => {
        // Anything of the command's still open (a socket, a timer's handle): this process is not clean.
        if (trace && activeHandles() > baseline.handles) process.stderr.write(`berth-cli child: left open: ${(process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => h.constructor.name).join(', ')}\n`);
        if (activeHandles() > baseline.handles || !process.connected) process.exit(code);
        busy = false;
        process.send!({ ready: true, served });
      }),
    );
  });
}

let busy = false;
process.on('message', (_m: unknown, sock: net.Socket | undefined) => {
  if (!sock || busy) process.exit(1);
  busy = true;
  take(sock);
});
// The server went away (stopped, or killed): nothing to wait for.
process.once('disconnect', () => {
  if (!busy) process.exit(0);
});
await preloadCommands();
// Run a build's code once before the first command arrives (rehearse.ts): a fresh child's first
// command then runs compiled code too.
if (process.env.BERTH_CLI_REHEARSE !== '0') await rehearse();
baseline = { listeners: listenerCounts(), handles: activeHandles() };
process.send!({ ready: true });
