// Rendering a JSON progress stream (load, import, pull, build) as the docker CLI's jsonmessage package
// does: one JSON object per line; `stream` text is printed as is, `status` lines are prefixed with
// their `id`; on a terminal each id keeps its own line, updated in place. An `error` ends the stream
// with a StreamError, which the CLI turns into a non-zero exit.
import type { Readable, Writable } from 'node:stream';
import type { JSONMessage } from '../api/types.js';
import { StreamError } from './errors.js';

export interface RenderOptions {
  /** Terminal mode: progress lines per id are rewritten in place. */
  tty?: boolean;
  /** Called for each `aux` payload (e.g. build's image ID). */
  onAux?: (aux: Record<string, unknown>) => void;
}

/** Split a byte stream into parsed JSON messages (newline-delimited or simply concatenated). */
export async function* parseJSONMessages(src: Readable): AsyncGenerator<JSONMessage> {
  let pending = '';
  for await (const chunk of src) {
    pending += (chunk as Buffer).toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield JSON.parse(line) as JSONMessage;
    }
  }
  if (pending.trim()) yield JSON.parse(pending) as JSONMessage;
}

/** Format one message as the docker CLI prints it on a non-terminal (without the trailing newline logic). */
export function formatJSONMessage(jm: JSONMessage, tty: boolean): string {
  const prefix = jm.id ? `${jm.id}: ` : '';
  if (jm.progress && tty) return `${prefix}${jm.status ?? ''} ${jm.progress}`;
  if (jm.stream !== undefined) return `${prefix}${jm.stream}`;
  return `${prefix}${jm.status ?? ''}\n`;
}

export async function renderJSONMessages(src: Readable, out: Writable, opts: RenderOptions = {}): Promise<void> {
  const tty = opts.tty ?? false;
  const lines = new Map<string, number>(); // id → line index from the top of our output
  let lineCount = 0;
  for await (const jm of parseJSONMessages(src)) {
    if (jm.error || jm.errorDetail) throw new StreamError(jm.errorDetail?.message ?? jm.error ?? 'unknown error');
    if (jm.aux) {
      opts.onAux?.(jm.aux);
      continue;
    }
    // Without a terminal, progress-bar updates would flood the output: docker skips them too.
    if (!tty && jm.progressDetail && jm.progress) continue;
    if (tty && jm.id && jm.stream === undefined) {
      lineCount = writeInPlace(out, jm, lines, lineCount);
      continue;
    }
    const text = formatJSONMessage(jm, false);
    out.write(text);
    lineCount += countNewlines(text);
  }
}

/** Rewrite the line belonging to `jm.id` (ANSI cursor movement), appending a new one for a new id. */
function writeInPlace(out: Writable, jm: JSONMessage, lines: Map<string, number>, lineCount: number): number {
  const id = jm.id ?? '';
  const line = lines.get(id);
  const text = `${id}: ${jm.status ?? ''}${jm.progress ? ' ' + jm.progress : ''}`;
  if (line === undefined) {
    lines.set(id, lineCount);
    out.write(`${text}\n`);
    return lineCount + 1;
  }
  const up = lineCount - line;
  out.write(`\x1b[${up}A\r\x1b[2K${text}\x1b[${up}B\r`);
  return lineCount;
}

function countNewlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}
