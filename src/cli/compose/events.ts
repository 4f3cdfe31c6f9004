// `berth compose events [OPTIONS] [SERVICE...]`: the project's container events as they happen, in
// Compose v2's line format or as JSON objects (--json).
import readline from 'node:readline';
import { ONEOFF, PROJECT, SERVICE } from '../../compose/labels.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { apiTimestamp } from '../timestamps.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { checkServices, projectOrName } from './target.js';

export interface ComposeEvent {
  /** Nanoseconds since the epoch, kept exact (a JSON number would lose them). */
  timeNano: bigint;
  service: string;
  id: string;
  action: string;
  /** The actor's attributes without Compose's own labels. */
  attributes: Record<string, string>;
}

interface EngineEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
}

/** An engine event line → the compose event, or undefined for what compose does not show. */
export function composeEvent(line: string, services: string[]): ComposeEvent | undefined {
  const e = JSON.parse(line) as EngineEvent;
  if (e.Type !== 'container') return undefined;
  const attrs = e.Actor.Attributes ?? {};
  if (attrs[ONEOFF] === 'True') return undefined;
  const service = attrs[SERVICE] ?? '';
  if (services.length && !services.includes(service)) return undefined;
  const nano = /"timeNano":\s*(\d+)/.exec(line)?.[1];
  return {
    timeNano: nano ? BigInt(nano) : BigInt(e.time ?? 0) * 1_000_000_000n,
    service,
    id: e.Actor.ID,
    action: e.Action,
    attributes: Object.fromEntries(
      Object.entries(attrs)
        .filter(([k]) => !k.startsWith('com.docker.compose.'))
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    ),
  };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

function localParts(ns: bigint): { d: Date; frac: string } {
  const ms = Number(ns / 1_000_000n);
  return { d: new Date(ms), frac: String(ns % 1_000_000_000n).padStart(9, '0') };
}

/** Compose's Event.String(): "2006-01-02 15:04:05.000000 container <action> <id> (k=v, ...)" in local time. */
export function eventText(e: ComposeEvent): string {
  const { d, frac } = localParts(e.timeNano);
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac.slice(0, 6)}`;
  const attrs = Object.entries(e.attributes).map(([k, v]) => `${k}=${v}`);
  // Compose prints its String() (which ends in a newline) with Println: each event is followed by an empty line.
  return `${when} container ${e.action} ${e.id} (${attrs.join(', ')})\n\n`;
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped) in local time. */
function goTimeJSON(ns: bigint): string {
  const { d, frac } = localParts(ns);
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.trunc(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const f = frac.replace(/0+$/, '');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${f ? `.${f}` : ''}${zone}`;
}

/** --json: one object per line, keys in Go's (sorted) map order. */
export function eventJSON(e: ComposeEvent): string {
  return JSON.stringify({ action: e.action, attributes: e.attributes, id: e.id, service: e.service, time: goTimeJSON(e.timeNano), type: 'container' }) + '\n';
}

async function events(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const target = await projectOrName(ctx);
  checkServices(target, f.args);
  const res = await ctx.backend().events(
    { label: [`${PROJECT}=${target.name}`] },
    {
      since: f.str('since') ? apiTimestamp(f.str('since')) : undefined,
      until: f.str('until') ? apiTimestamp(f.str('until'), Date.now(), 'until') : undefined,
    },
  );
  for await (const line of readline.createInterface({ input: res, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const e = composeEvent(line, f.args);
    if (e) await writeOut(ctx.stdout, f.bool('json') ? eventJSON(e) : eventText(e));
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  events: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Receive real time events from containers',
    flags: [
      { name: 'json', type: 'bool', description: 'Output events as a stream of json objects' },
      { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
      { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
    ],
    run: events,
  },
};
