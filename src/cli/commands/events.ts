// `events`: the daemon's event stream (GET /events), printed as the docker CLI prints it.
import readline from 'node:readline';
import { writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON } from '../filters.js';
import { parseTemplate } from '../format/template.js';
import { apiTimestamp } from '../timestamps.js';

interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
}

/** docker's default line: "<time RFC3339Nano> <type> <action> <id> (k=v, k=v)". */
export function eventLine(e: EventMessage): string {
  const secs = Math.floor(e.timeNano / 1e9);
  const nanos = String(e.timeNano - secs * 1e9).padStart(9, '0');
  const when = new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, `.${nanos}Z`);
  const attrs = Object.entries(e.Actor.Attributes ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${when} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}`;
}

async function events(ctx: Context, f: ParsedFlags): Promise<number> {
  const format = f.str('format');
  const tpl = format && format !== 'json' ? parseTemplate(format) : undefined;
  const res = await ctx.client().request({
    path: '/events',
    query: {
      since: f.str('since') ? apiTimestamp(f.str('since')) : undefined,
      until: f.str('until') ? apiTimestamp(f.str('until')) : undefined,
      filters: filtersJSON(f.list('filter')),
    },
  });
  for await (const line of readline.createInterface({ input: res, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const e = JSON.parse(line) as EventMessage;
    const text = format === 'json' ? JSON.stringify(e) : tpl ? tpl.execute(e) : eventLine(e);
    await writeOut(ctx.stdout, text + '\n');
  }
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  events: {
    usage: '[OPTIONS]',
    description: 'Get real time events from the server',
    aliases: ['berth system events', 'berth events'],
    args: { max: 0 },
    flags: [
      { name: 'filter', short: 'f', type: 'stringArray', valueName: 'filter', description: 'Filter output based on conditions provided' },
      { name: 'format', type: 'string', description: 'Format the output using the given Go template' },
      { name: 'since', type: 'string', description: 'Show all events created since timestamp' },
      { name: 'until', type: 'string', description: 'Stream events until this timestamp' },
    ],
    run: events,
  },
};
