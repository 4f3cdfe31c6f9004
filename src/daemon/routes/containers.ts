// /containers/* and /exec/*: thin translators between the wire and the containers and exec services.
// Each takes the query and body apart, calls its backend, and frames what comes back (JSON, a log or
// attach stream); reading logs, waiting and attaching happen on the service side.
import type { Duplex } from 'node:stream';
import type { ContainerCreateRequest, ContainerInspect, ContainerSummary, ExecConfig, HostConfig } from '../../api/types.js';
import { containerCreateBody, containerUpdateBody, execCreateBody, execStartBody } from '../../api/schemas.js';
import { validateContainerCreate } from '../validate/container.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import type { WaitCondition, WaitResult } from '../../engine/containers/service.js';
import type { AttachOptions, AttachSession } from '../../engine/containers/attach.js';
import { encodeLogEntry, type ContainerLogStream } from '../../engine/containers/log-stream.js';
import { apiTimeNs, type LogQuery } from '../../engine/containers/logs.js';
import type { StatsJSON } from '../../engine/containers/stats.js';
import type { ExecInspect } from '../../engine/containers/exec.js';
import { hijack, qBool, qFilters, qInt, readBody, sendJson, sendStatus, startStream, type Ctx, type Router } from '../http.js';
import { frame, MULTIPLEXED_STREAM, RAW_STREAM } from '../streams.js';

/** What the /containers routes need from the containers service (moby's containerBackend). */
export interface ContainersBackend {
  create(req: ContainerCreateRequest, name?: string, opts?: { platform?: string }): Promise<{ Id: string; Warnings: string[] }>;
  list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]>;
  inspect(ref: string, size?: boolean): Promise<ContainerInspect>;
  start(ref: string): Promise<void>;
  stop(ref: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  restart(ref: string, opts?: { timeout?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal?: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  rename(ref: string, newName: string): Promise<void>;
  resize(ref: string, rows: number, cols: number): Promise<void>;
  removeLink(parentRef: string, alias: string): Promise<void>;
  remove(ref: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  waitFor(ref: string, condition: WaitCondition): { result: Promise<WaitResult> };
  attachSession(ref: string, opts: AttachOptions): AttachSession;
  logs(ref: string): ContainerLogStream;
  statsStream(ref: string, opts: { stream: boolean; oneShot: boolean }, signal: AbortSignal): AsyncIterable<StatsJSON>;
  update(ref: string, changes: HostConfig): Promise<{ Warnings: string[] }>;
  top(ref: string, psArgs?: string): Promise<{ Titles: string[]; Processes: string[][] }>;
}

/** What the /exec routes need from the exec service. */
export interface ExecBackend {
  create(containerRef: string, config: ExecConfig): { Id: string };
  /** Throws NotFound for an unknown exec. */
  get(id: string): unknown;
  inspect(id: string): ExecInspect;
  resize(id: string, rows: number, cols: number): Promise<void>;
  start(id: string, opts: { detach: boolean; tty?: boolean }, client?: Duplex): Promise<void>;
}

export interface ContainerBackends {
  containers: ContainersBackend;
  exec: ExecBackend;
}

export function containerRoutes(r: Router, b: ContainerBackends): void {
  const { containers, exec } = b;
  r.on('POST', '/containers/create', async (ctx) => {
    const body = await readBody<ContainerCreateRequest>(ctx, containerCreateBody);
    validateContainerCreate(body);
    sendJson(ctx, 201, await containers.create(body, ctx.query.get('name') || undefined, { platform: ctx.query.get('platform') || undefined }));
  });
  r.on('GET', '/containers/json', async (ctx) => {
    const filters = qFilters(ctx.query);
    const limit = qInt(ctx.query, 'limit') ?? (qBool(ctx.query, 'latest') ? 1 : undefined);
    sendJson(ctx, 200, await containers.list({ all: qBool(ctx.query, 'all'), limit, size: qBool(ctx.query, 'size'), filters }));
  });
  r.on('GET', '/containers/{id}/json', async (ctx) => sendJson(ctx, 200, await containers.inspect(ctx.params[0]!, qBool(ctx.query, 'size'))));
  r.on('POST', '/containers/{id}/start', async (ctx) => {
    await containers.start(ctx.params[0]!);
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/stop', async (ctx) => {
    await containers.stop(ctx.params[0]!, { timeout: qInt(ctx.query, 't'), signal: ctx.query.get('signal') ?? undefined });
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/restart', async (ctx) => {
    await containers.restart(ctx.params[0]!, { timeout: qInt(ctx.query, 't'), signal: ctx.query.get('signal') ?? undefined });
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/kill', async (ctx) => {
    await containers.kill(ctx.params[0]!, ctx.query.get('signal') || 'SIGKILL');
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/pause', async (ctx) => {
    await containers.pause(ctx.params[0]!);
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/unpause', async (ctx) => {
    await containers.unpause(ctx.params[0]!);
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/rename', async (ctx) => {
    const name = ctx.query.get('name');
    if (!name) throw new InvalidParameter('Neither old nor new names may be empty');
    await containers.rename(ctx.params[0]!, name);
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/resize', async (ctx) => {
    await containers.resize(ctx.params[0]!, qInt(ctx.query, 'h') ?? 0, qInt(ctx.query, 'w') ?? 0);
    sendStatus(ctx, 200);
  });
  // `rm --link PARENT/ALIAS`: only the link goes.
  r.on('DELETE', '/containers/{parent}/{alias}', async (ctx) => {
    if (!qBool(ctx.query, 'link')) throw new NotFound('page not found');
    await containers.removeLink(ctx.params[0]!, ctx.params[1]!);
    sendStatus(ctx, 204);
  });
  r.on('DELETE', '/containers/{id}', async (ctx) => {
    await containers.remove(ctx.params[0]!, { force: qBool(ctx.query, 'force'), volumes: qBool(ctx.query, 'v') });
    sendStatus(ctx, 204);
  });
  r.on('POST', '/containers/{id}/wait', waitHandler(containers));
  r.on('POST', '/containers/{id}/attach', attachHandler(containers));
  r.on('GET', '/containers/{id}/logs', logsHandler(containers));
  r.on('GET', '/containers/{id}/stats', statsHandler(containers));
  r.on('POST', '/containers/{id}/update', async (ctx) => sendJson(ctx, 200, await containers.update(ctx.params[0]!, await readBody<HostConfig>(ctx, containerUpdateBody))));
  r.on('GET', '/containers/{id}/top', async (ctx) => sendJson(ctx, 200, await containers.top(ctx.params[0]!, ctx.query.get('ps_args') || undefined)));

  r.on('POST', '/containers/{id}/exec', async (ctx) => sendJson(ctx, 201, exec.create(ctx.params[0]!, await readBody<ExecConfig>(ctx, execCreateBody))));
  r.on('GET', '/exec/{id}/json', (ctx) => sendJson(ctx, 200, exec.inspect(ctx.params[0]!)));
  r.on('POST', '/exec/{id}/resize', async (ctx) => {
    await exec.resize(ctx.params[0]!, qInt(ctx.query, 'h') ?? 0, qInt(ctx.query, 'w') ?? 0);
    sendStatus(ctx, 200);
  });
  r.on('POST', '/exec/{id}/start', async (ctx) => {
    const body = await readBody<{ Detach?: boolean; Tty?: boolean }>(ctx, execStartBody);
    const id = ctx.params[0]!;
    exec.get(id); // 404 before the stream is hijacked
    if (body.Detach) {
      await exec.start(id, { detach: true, tty: body.Tty });
      sendStatus(ctx, 200);
      return;
    }
    // dockerd frames the stream by the start request's Tty (absent means false), whatever the exec's TTY.
    const tty = body.Tty ?? false;
    const client = hijack(ctx, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    await exec.start(id, { detach: false, tty }, client).catch((err: unknown) => {
      const message = ctx.fail(err);
      client.end(tty ? message : frame(3, message));
    });
  });
}

function waitHandler(containers: ContainersBackend) {
  return async (ctx: Ctx) => {
    const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameter(`invalid condition: "${condition}"`);
    const wait = containers.waitFor(ctx.params[0]!, condition); // 404 before the headers go out
    const res = startStream(ctx, 'application/json');
    res.end(JSON.stringify(await wait.result) + '\n');
  };
}

function attachHandler(containers: ContainersBackend) {
  return async (ctx: Ctx) => {
    const q = ctx.query;
    const session = containers.attachSession(ctx.params[0]!, {
      stdin: qBool(q, 'stdin'),
      stdout: qBool(q, 'stdout'),
      stderr: qBool(q, 'stderr'),
      logs: qBool(q, 'logs'),
      stream: qBool(q, 'stream'),
      detachKeys: q.get('detachKeys') ?? undefined,
    });
    await session.run(hijack(ctx, session.tty ? RAW_STREAM : MULTIPLEXED_STREAM));
  };
}

/** GET /containers/{id}/stats: one sample (stream=false) or one a second, as JSON lines. */
function statsHandler(containers: ContainersBackend) {
  return async (ctx: Ctx) => {
    const abort = new AbortController();
    const samples = containers.statsStream(ctx.params[0]!, { stream: qBool(ctx.query, 'stream', true), oneShot: qBool(ctx.query, 'one-shot') }, abort.signal);
    const res = startStream(ctx, 'application/json');
    res.once('close', () => abort.abort());
    for await (const s of samples) res.write(JSON.stringify(s) + '\n');
    res.end();
  };
}

function parseTime(v: string | null): number {
  if (!v) return 0;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameter(`invalid value for since/until: ${v}`);
  return n;
}

function logsHandler(containers: ContainersBackend) {
  return async (ctx: Ctx) => {
    const log = containers.logs(ctx.params[0]!);
    const q = ctx.query;
    const query: LogQuery = {
      stdout: qBool(q, 'stdout'),
      stderr: qBool(q, 'stderr'),
      since: parseTime(q.get('since')),
      until: parseTime(q.get('until')),
      sinceNs: apiTimeNs(q.get('since')),
      untilNs: apiTimeNs(q.get('until')),
      tail: q.get('tail') && q.get('tail') !== 'all' ? Number(q.get('tail')) : -1,
      follow: qBool(q, 'follow'),
    };
    const abort = new AbortController();
    const entries = log.read(query, abort.signal);
    const timestamps = qBool(q, 'timestamps');
    const res = startStream(ctx, log.tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    res.once('close', () => abort.abort());
    for await (const e of entries) if (!res.write(encodeLogEntry(e, log.tty, timestamps))) await drain(res);
    res.end();
  };
}

function drain(res: NodeJS.WritableStream): Promise<void> {
  return new Promise((r) => res.once('drain', r));
}
