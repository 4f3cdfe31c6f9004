// The warm CLI server (docs/notes/cli.md): started in the background by the native front end
// (src/shim/berth-cli.c) when nobody answered on its socket, reused by every later command of the same
// user and the same build of the CLI.
//
// It keeps BERTH_CLI_POOL (default 2) Node children, each with the CLI's modules already loaded
// (child.ts). A connection from the front end goes, unread, to one ready child, which takes the user's
// fds 0-2 from it and runs the command; the server tells the front end the child's pid ("P<pid>", for
// relaying signals). The child sends the exit status ("X<code>") itself; if it dies of a signal the
// server sends that ("S<signo>"). Most commands end their child (one process per command keeps commands
// as isolated as fresh processes are), and the server starts another in its place; a read-only command
// that left nothing behind returns its child to the pool (child.ts says which and how).
//
// It never serves code other than its own: each connection first checks that dist/src/cli/main.js is
// still the file it started with (inode, size, mtime) and otherwise answers "D" (run directly) and shuts
// down. It also exits when idle for BERTH_CLI_IDLE seconds (default 600), when its socket was replaced
// and on SIGTERM; its pid is in SOCKET.pid.
import { statSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type ChildProcess } from '../../lib/exec.js';

const [sockPath = '', mainJs = ''] = process.argv.slice(2);
const POOL = Math.max(1, Math.min(8, Number(process.env.BERTH_CLI_POOL) || 2));
const IDLE_MS = Math.max(1, Number(process.env.BERTH_CLI_IDLE) || 600) * 1000;
const CHILD_JS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.js');
const SIGNALS: Record<string, number> = os.constants.signals;

function buildKey(): string {
  try {
    const s = statSync(mainJs, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'missing';
  }
}

function socketInode(): bigint | undefined {
  try {
    return statSync(sockPath, { bigint: true }).ino;
  } catch {
    return undefined;
  }
}

const key = buildKey();
const ready: ChildProcess[] = [];
const starting = new Set<ChildProcess>();
const queue: net.Socket[] = [];
let running = 0;
let closing = false;
let inode: bigint | undefined;

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} berth warm CLI ${process.pid}: ${msg}\n`);
}

/** How many commands each ready child has served (a fresh child: 0). */
const served = new Map<ChildProcess, number>();
/** The connection a child is serving, if any. */
const serving = new Map<ChildProcess, net.Socket>();

function startChild(): void {
  const c = startProcess(process.execPath, [CHILD_JS], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  starting.add(c);
  c.on('message', (m: { ready?: boolean; busy?: boolean; reuse?: boolean; served?: number }) => {
    if (m.busy) {
      // A child that will exit after this command is replaced now; one that may come back is not.
      if (!m.reuse) refill();
      return;
    }
    if (m.ready !== true) return;
    starting.delete(c);
    const sock = serving.get(c);
    if (sock) {
      // It served a command (its status went to the front end from the child) and is clean again.
      serving.delete(c);
      running--;
      sock.end();
    }
    if (closing || ready.length >= POOL) {
      c.kill('SIGTERM');
      if (closing && running === 0) process.exit(0);
      return;
    }
    served.set(c, m.served ?? 0);
    ready.push(c);
    dispatch();
  });
  c.once('exit', (code, signal) => {
    starting.delete(c);
    const i = ready.indexOf(c);
    if (i >= 0) ready.splice(i, 1);
    served.delete(c);
    const sock = serving.get(c);
    if (sock) {
      serving.delete(c);
      running--;
      const signo = signal ? SIGNALS[signal] : undefined;
      sock.end(signo !== undefined ? `S${signo}\n` : `X${code ?? 1}\n`);
      if (closing && running === 0) process.exit(0);
    }
    refill();
  });
  c.on('error', (err) => log(`child: ${err.message}`));
}

function refill(): void {
  while (!closing && ready.length + starting.size + serving.size < POOL) startChild();
}

/** Take the ready child that has served the most commands: its code has run before (V8 compiled it), so
 *  the same command again (a build where nothing changed) runs at the speed of warm code. A fresh child
 *  serves as well, only slower. */
function warmest(): ChildProcess {
  let best = 0;
  for (let i = 1; i < ready.length; i++) if (served.get(ready[i]!)! > served.get(ready[best]!)!) best = i;
  return ready.splice(best, 1)[0]!;
}

function dispatch(): void {
  while (queue.length > 0 && ready.length > 0) {
    const sock = queue.shift()!;
    if (sock.destroyed) continue;
    const c = warmest();
    running++;
    serving.set(c, sock);
    sock.write(`P${c.pid}\n`);
    c.send('run', sock, { keepOpen: true }, (err) => {
      if (err) log(`handing over: ${err.message}`);
    });
  }
  refill();
}

function shutdown(why: string): void {
  if (closing) return;
  closing = true;
  log(`shutting down: ${why}`);
  const ours = inode !== undefined && socketInode() === inode;
  server.close(); // (removes the socket)
  if (ours) {
    for (const f of [sockPath, `${sockPath}.pid`, `${sockPath}.log`]) {
      try {
        unlinkSync(f);
      } catch {
        /* already gone */
      }
    }
  }
  for (const c of [...ready, ...starting]) c.kill('SIGTERM');
  for (const s of queue) s.end('D\n');
  queue.length = 0;
  if (running === 0) process.exit(0);
}

let idle: NodeJS.Timeout | undefined;
function armIdle(): void {
  if (idle) clearTimeout(idle);
  idle = setTimeout(() => (running === 0 ? shutdown('idle') : armIdle()), IDLE_MS);
}

const server = net.createServer({ pauseOnConnect: true }, (sock) => {
  sock.on('error', () => {
    /* the front end went away; the child's exit is still awaited */
  });
  armIdle();
  if (closing || buildKey() !== key) {
    sock.end('D\n');
    shutdown('the CLI was rebuilt');
    return;
  }
  queue.push(sock);
  dispatch();
});

async function listen(): Promise<void> {
  // Another server already answering on this socket: leave it be.
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.createConnection(sockPath);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) process.exit(0);
  try {
    unlinkSync(sockPath);
  } catch {
    /* none */
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => resolve());
  });
  inode = socketInode();
  writeFileSync(`${sockPath}.pid`, `${process.pid}\n`, { mode: 0o600 });
}

if (!sockPath || !mainJs) {
  log('usage: server.js SOCKET MAIN_JS');
  process.exit(2);
}
refill();
await listen();
armIdle();
log(`serving ${sockPath} (pool ${POOL}, idle ${IDLE_MS / 1000} s)`);
setInterval(() => {
  if (socketInode() !== inode) shutdown('its socket was replaced');
  else if (buildKey() !== key) shutdown('the CLI was rebuilt');
}, 5000).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => shutdown(sig));
