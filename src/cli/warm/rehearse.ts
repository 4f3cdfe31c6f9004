// A warm CLI child's rehearsal (docs/notes/warm.md), run once while it waits for its first command: a
// `build` of a tiny context in this folder (rehearsal/) and `compose config` + `compose ps` of the tiny
// project there, against a stand-in for berthd inside this very process (an HTTP server on an abstract
// unix socket that answers as berthd does when nothing changed and no container runs).
// V8 compiles a function when it first runs, so a fresh child's first command pays for compiling
// everything it touches: its first HTTP requests alone cost ~15 ms more than the same requests later,
// and a build's listing, sync and progress as much again. Rehearsed, those run compiled in every command
// the child serves (every command makes requests; `build` runs this same code).
//
// Nothing of it is left: the server and the client are closed (child.ts takes its baseline of handles
// and listeners after), nothing is written (its output goes nowhere, its trace spans are not recorded),
// and any failure only means a colder first command.
import http from 'node:http';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { API_VERSION } from '../../api/version.js';
import { STATUS_MESSAGE, VERTEX_MESSAGE } from '../../api/build-progress.js';
import { EngineClient } from '../../client/engine.js';
import { untraced } from '../../lib/trace.js';
import type { CommandSpec, Context } from '../command.js';
import { parseFlags } from '../flags.js';

const CONTEXT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../../src/cli/warm/rehearsal');

/** What berthd streams for a build where every step was cached (its vertex progress). */
function cachedBuildStream(): string {
  const now = new Date().toISOString();
  const id = 'sha256:' + '0'.repeat(64);
  const msgs = [
    { id: VERTEX_MESSAGE, aux: { step: 1, total: 2, stage: 0, name: '[1/1] COPY src/ /src/', started: now } },
    { id: VERTEX_MESSAGE, aux: { step: 1, total: 2, stage: 0, name: '[1/1] COPY src/ /src/', started: now, completed: now, cached: true } },
    { id: VERTEX_MESSAGE, aux: { step: 2, total: 2, stage: '', name: 'exporting to image', started: now } },
    { id: STATUS_MESSAGE, aux: { step: 2, id: `writing image ${id}`, started: now, completed: now } },
    { id: VERTEX_MESSAGE, aux: { step: 2, total: 2, stage: '', name: 'exporting to image', started: now, completed: now } },
    { aux: { ID: id } },
  ];
  return msgs.map((m) => JSON.stringify(m) + '\n').join('');
}

/** berthd's answers to a build whose context did not change. */
function standIn(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  req.once('end', () => {
    res.setHeader('Api-Version', API_VERSION);
    res.setHeader('Content-Type', 'application/json');
    if (req.url === '/_ping') res.end('OK');
    else if (req.url?.endsWith('/build/context')) res.end(JSON.stringify({ Session: '0'.repeat(32), Need: [] }));
    else if (req.url?.includes('/build?')) res.end(cachedBuildStream());
    else if (req.url?.includes('/containers/json')) res.end('[]');
    else res.writeHead(404).end('{"message":"not part of the rehearsal"}');
  });
}

/** Rehearse; true when the build ran through (false: it failed somewhere, and the child is only colder). */
export async function rehearse(): Promise<boolean> {
  const socketPath = `\0berth-cli-rehearsal-${process.pid}`;
  const server = http.createServer(standIn);
  const client = new EngineClient({ url: 'unix://rehearsal', socketPath, isDefault: false }, {});
  const nowhere = new Writable({ write: (_c, _e, cb) => cb() });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
    const ctx: Context = { cmdPath: 'berth', client: () => client, stdin: Readable.from([]), stdout: nowhere, stderr: nowhere, env: {} };
    const build = (await import('../commands/build.js')).commands.build!;
    const compose = (await import('../compose/main.js')).commands.compose!;
    const run = (spec: CommandSpec, args: string[]) => untraced(() => spec.run(ctx, parseFlags(spec.flags, args, { stopAtFirstArg: spec.stopAtFirstArg })));
    const built = (await run(build, ['-t', 'rehearsal', CONTEXT])) === 0;
    // compose's loader, interpolation, schema check and its first engine query (compose's code is the CLI's biggest).
    const file = path.join(CONTEXT, 'compose.yaml');
    const composed = (await run(compose, ['-f', file, '-p', 'rehearsal', 'config'])) === 0 && (await run(compose, ['-f', file, '-p', 'rehearsal', 'ps'])) === 0;
    return built && composed;
  } catch {
    return false; // only the speed of the first command depends on it
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    // Closed handles leave the list in the loop's close phase: gone after two turns (child.ts then
    // counts what is open as its baseline).
    await new Promise((r) => setImmediate(() => setImmediate(r)));
  }
}
