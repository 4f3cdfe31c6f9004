// /containers/* and /exec/*: thin translators between the wire and the containers and exec services.
import type { ContainerCreateRequest, ExecConfig, HostConfig } from '../../api/types.js';
import { containerCreateBody, containerUpdateBody, execCreateBody, execStartBody } from '../../api/schemas.js';
import { validateContainerCreate } from '../validate/container.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import type { ContainersService, WaitCondition } from '../../engine/containers/service.js';
import type { ExecService } from '../../engine/containers/exec.js';
import { apiTimeNs, followLogs, readLogs, type LogEntry, type LogQuery } from '../../engine/containers/logs.js';
import type { StatsJSON } from '../../engine/containers/stats.js';
import { hijack, qBool, qFilters, qInt, readBody, sendJson, sendStatus, startStream, type Ctx, type Router } from '../http.js';
import { frame, MULTIPLEXED_STREAM, RAW_STREAM } from '../streams.js';

export interface ContainerBackends {
  containers: ContainersService;
  exec: ExecService;
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

function waitHandler(containers: ContainersService) {
  return async (ctx: Ctx) => {
    const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameter(`invalid condition: "${condition}"`);
    containers.store.get(ctx.params[0]!); // 404 before the headers go out
    const res = startStream(ctx, 'application/json');
    const result = await containers.wait(ctx.params[0]!, condition);
    res.end(JSON.stringify(result) + '\n');
  };
}

function attachHandler(containers: ContainersService) {
  return async (ctx: Ctx) => {
    const rec = containers.store.get(ctx.params[0]!);
    const tty = rec.config.Tty ?? false;
    const q = ctx.query;
    const streams = { stdin: qBool(q, 'stdin'), stdout: qBool(q, 'stdout'), stderr: qBool(q, 'stderr') };
    const client = hijack(ctx, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    if (qBool(q, 'logs')) {
      for await (const e of readLogs(containers.logPath(rec.id), { stdout: streams.stdout, stderr: streams.stderr, since: 0, until: 0, tail: -1, follow: false })) {
        client.write(encodeEntry(e, tty, false));
      }
    }
    if (!qBool(q, 'stream')) {
      client.end();
      return;
    }
    await containers.attach(rec.id, client, streams, q.get('detachKeys') ?? undefined);
  };
}

/** GET /containers/{id}/stats: one sample (stream=false; precpu from a sample just before) or one a second. */
function statsHandler(containers: ContainersService) {
  return async (ctx: Ctx) => {
    const rec = containers.store.get(ctx.params[0]!);
    const stream = qBool(ctx.query, 'stream', true);
    const oneShot = qBool(ctx.query, 'one-shot');
    const sample = (prev?: StatsJSON) => containers.stats(rec.id, prev);
    const res = startStream(ctx, 'application/json');
    let prev = stream || oneShot ? undefined : await sample();
    if (prev) await new Promise((r) => setTimeout(r, 500));
    let open = true;
    res.once('close', () => (open = false));
    do {
      prev = await sample(prev);
      res.write(JSON.stringify(prev) + '\n');
      if (!stream) break;
      await new Promise((r) => setTimeout(r, 1000));
    } while (open && containers.store.tryGet(rec.id));
    res.end();
  };
}

function encodeEntry(e: LogEntry, tty: boolean, timestamps: boolean): Buffer {
  const text = timestamps ? `${e.time} ${e.log}` : e.log;
  return tty ? Buffer.from(text) : frame(e.stream === 'stderr' ? 2 : 1, text);
}

function parseTime(v: string | null): number {
  if (!v) return 0;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameter(`invalid value for since/until: ${v}`);
  return n;
}

function logsHandler(containers: ContainersService) {
  return async (ctx: Ctx) => {
    const rec = containers.store.get(ctx.params[0]!);
    const q = ctx.query;
    const type = rec.hostConfig.LogConfig?.Type || 'json-file';
    if (type === 'none') throw new InvalidParameter(`configured logging driver does not support reading`);
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
    if (!query.stdout && !query.stderr) throw new InvalidParameter('Bad parameters: you must choose at least one stream');
    const tty = rec.config.Tty ?? false;
    const timestamps = qBool(q, 'timestamps');
    const res = startStream(ctx, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    const file = containers.logPath(rec.id);
    for await (const e of readLogs(file, query)) if (!res.write(encodeEntry(e, tty, timestamps))) await drain(res);
    if (query.follow) {
      const abort = new AbortController();
      res.once('close', () => abort.abort());
      const running = () => {
        const r = containers.store.tryGet(rec.id);
        return !!r && ['running', 'paused', 'restarting'].includes(r.state.status);
      };
      if (running()) {
        for await (const e of followLogs(file, query, () => !running(), abort.signal)) if (!res.write(encodeEntry(e, tty, timestamps))) await drain(res);
      }
    }
    res.end();
  };
}

function drain(res: NodeJS.WritableStream): Promise<void> {
  return new Promise((r) => res.once('drain', r));
}
