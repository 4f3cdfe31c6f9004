// /_ping, /version, /info, /events.
import { matchesEventFilters, type EngineEvent } from '../../engine/events.js';
import { InvalidParameter } from '../../lib/errors.js';
import { commonHeaders, qFilters, sendJson, startStream, type Ctx, type Router } from '../http.js';

/** What /version and /info need from the system service (moby's system Backend). */
export interface SystemBackend {
  version(): Promise<Record<string, unknown>>;
  info(): Promise<Record<string, unknown>>;
}

/** What /events needs: the recent past and a subscription (the events service). */
export interface EventsBackend {
  history(sinceNs: number, untilNs: number): EngineEvent[];
  /** Returns the unsubscribe. */
  subscribe(fn: (e: EngineEvent) => void): () => void;
}

export function systemRoutes(r: Router, system: SystemBackend, events: EventsBackend): void {
  const ping = (ctx: Ctx) => {
    ctx.res!.writeHead(200, {
      ...commonHeaders(ctx.version),
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      // The legacy builder only: BuildKit's session protocol is not served.
      'Builder-Version': '1',
    });
    ctx.res!.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.on('GET', '/_ping', ping);
  r.on('HEAD', '/_ping', ping);
  r.on('GET', '/version', async (ctx) => sendJson(ctx, 200, await system.version()));
  r.on('GET', '/info', async (ctx) => sendJson(ctx, 200, await system.info()));
  r.on('GET', '/events', (ctx) => streamEvents(ctx, events));
}

/** Docker's --since/--until: unix seconds (fractional) → nanoseconds. */
function toNs(v: string | null, dflt: number): number {
  if (!v) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameter(`invalid timestamp: ${v}`);
  return Math.round(n * 1e9);
}

async function streamEvents(ctx: Ctx, events: EventsBackend): Promise<void> {
  const filters = qFilters(ctx.query);
  const nowNs = Date.now() * 1e6;
  const since = toNs(ctx.query.get('since'), nowNs);
  const until = toNs(ctx.query.get('until'), Infinity);
  const res = startStream(ctx, 'application/json');
  const send = (e: Parameters<typeof matchesEventFilters>[0]) => {
    if (matchesEventFilters(e, filters)) res.write(JSON.stringify(e) + '\n');
  };
  for (const e of events.history(since, Math.min(until, nowNs))) send(e);
  if (until <= nowNs) return void res.end();
  await new Promise<void>((resolve) => {
    const unsubscribe = events.subscribe((e) => {
      if (e.timeNano > until) return void res.end();
      send(e);
    });
    const timer = Number.isFinite(until) ? setTimeout(() => res.end(), (until - nowNs) / 1e6) : undefined;
    res.once('close', () => {
      unsubscribe();
      if (timer) clearTimeout(timer);
      resolve();
    });
  });
}
