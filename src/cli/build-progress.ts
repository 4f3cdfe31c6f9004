// `build --progress`: berthd's build vertices (api/build-progress.ts) drawn as BuildKit's progress display
// draws its own (moby/buildkit util/progress/progressui), on stderr as `docker build` does:
// - plain: "#N [stage k/n] RUN …", then "#N 0.123 <output line>" (seconds since the step started),
//   "#N berth: cache miss: <why>", "#N CACHED" / "#N DONE 0.5s" / "#N ERROR: …"; the steps of concurrent
//   stages print in blocks, "#N ..." marking where a block of an unfinished step stops.
// - tty: a view redrawn in place (ANSI cursor movement, at most 10 times a second): a header
//   "[+] Building 3.2s (7/9)", one line per step with its state and time, the last lines of running steps'
//   output; at the end the whole view once more, every step with its duration.
// Both end a failed build with the failing step's last output lines, between "------" rules.
import { Writable, type Readable } from 'node:stream';
import { LOG_MESSAGE, STATUS_MESSAGE, VERTEX_MESSAGE, type LogAux, type StatusAux, type VertexAux } from '../api/build-progress.js';
import type { JSONMessage } from '../api/types.js';
import { StreamError } from '../client/errors.js';
import { formatJSONMessage, parseJSONMessages, renderJSONMessages } from '../client/jsonmessage.js';
import { BUILD_PROGRESS_HEADER } from '../api/build-progress.js';
import { StatusError, type Context } from './command.js';
import type { ParsedFlags } from './flags.js';

export type ProgressDisplay = 'plain' | 'tty';

/** `--progress` (auto, plain, tty, quiet) for an output that is a terminal or not. */
export function progressDisplay(flag: string, isTTY: boolean): ProgressDisplay | 'quiet' {
  switch (flag) {
    case '':
    case 'auto':
      return isTTY ? 'tty' : 'plain';
    case 'plain':
    case 'tty':
    case 'quiet':
      return flag;
    default:
      throw new StatusError(`invalid progress mode "${flag}": use auto, plain, tty or quiet`, 1);
  }
}

export interface ViewOptions {
  mode: ProgressDisplay;
  /** Terminal size (tty): lines are cut to the width, a running view to the height. */
  width?: number;
  height?: number;
  /** ANSI colours in the tty view (BuildKit's: blue when done, red for an error). */
  color?: boolean;
  /** Milliseconds (tests give their own clock). */
  now?: () => number;
}

interface LogLine {
  /** Seconds since the step started, when the line began. */
  at: number;
  text: string;
}

interface Status {
  id: string;
  started?: number;
  completed?: number;
}

interface Vertex {
  step: number;
  name: string;
  /** Times in berthd's clock (ms). */
  started?: number;
  completed?: number;
  cached: boolean;
  error?: string;
  canceled: boolean;
  miss?: string;
  statuses: Status[];
  /** The last output lines (error summary, tty view) and the line still being written. */
  tail: LogLine[];
  partial?: LogLine;
  /** plain: what is to print at the next flush, in order (without the "#N "). */
  pending: string[];
  dirty: boolean;
  finishPrinted: boolean;
}

const TAIL = 10;
const TTY_TAIL = 6;
const SLICE = 5000;
const BLUE = '\x1b[34m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const FAINT = '\x1b[2m';
const RESET = '\x1b[0m';

/** The state of a build's vertices, and its drawing: what to write to the output now. */
export class BuildProgressView {
  private readonly vertices = new Map<number, Vertex>();
  /** Steps in the order they started (the tty view's order). */
  private readonly order: Vertex[] = [];
  private readonly now: () => number;
  private readonly t0: number;
  /** Local clock minus berthd's, taken at the first vertex (as BuildKit's localTimeDiff). */
  private offset?: number;
  private total = 0;
  /** Text that belongs to no step: printed as it comes (plain) or after the view (tty). */
  private trailing = '';
  // plain
  private current?: Vertex;
  private printedAny = false;
  /** When the current step's block began. */
  private since = 0;
  // tty
  private drawn = 0;
  private dirty = true;

  constructor(private readonly opts: ViewOptions) {
    this.now = opts.now ?? Date.now;
    this.t0 = this.now();
  }

  /** Take one message of the stream (not the final aux ID or an error: the caller handles those). */
  handle(m: JSONMessage): string {
    this.dirty = true;
    if (m.id === VERTEX_MESSAGE && m.aux) this.vertex(m.aux as unknown as VertexAux);
    else if (m.id === LOG_MESSAGE && m.aux) this.log(m.aux as unknown as LogAux);
    else if (m.id === STATUS_MESSAGE && m.aux) this.status(m.aux as unknown as StatusAux);
    else if (m.stream !== undefined || m.status !== undefined) {
      // Not a step's: plain prints it where it comes (after what is pending), tty after its view.
      const text = formatJSONMessage(m, false);
      if (this.opts.mode === 'tty') this.trailing += text;
      else return this.render() + text;
    }
    return '';
  }

  private get(step: number, name = ''): Vertex {
    let v = this.vertices.get(step);
    if (!v) {
      v = { step, name, cached: false, canceled: false, statuses: [], tail: [], pending: [], dirty: false, finishPrinted: false };
      this.vertices.set(step, v);
    }
    return v;
  }

  private vertex(a: VertexAux): void {
    const v = this.get(a.step, a.name);
    v.name = a.name;
    this.total = Math.max(this.total, a.total);
    if (a.started && v.started === undefined) {
      v.started = Date.parse(a.started);
      this.offset ??= this.now() - v.started;
      this.order.push(v);
      v.dirty = true;
    }
    if (a.miss && !v.miss) {
      v.miss = a.miss;
      v.pending.push(`berth: cache miss: ${a.miss}`);
      v.dirty = true;
    }
    if (a.completed && v.completed === undefined) {
      this.endPartial(v);
      v.completed = Date.parse(a.completed);
      v.cached = !!a.cached;
      v.error = a.error;
      v.canceled = !!a.canceled;
      v.dirty = true;
    }
  }

  private log(a: LogAux): void {
    const v = this.get(a.step);
    const time = a.time ? Date.parse(a.time) : this.now() - (this.offset ?? 0);
    const at = v.started === undefined ? 0 : Math.max(0, (time - v.started) / 1000);
    const parts = a.data.split('\n');
    parts.forEach((text, i) => {
      const last = i === parts.length - 1;
      if (last && text === '') return; // the data ended with a newline
      if (i === 0 && v.partial) v.partial.text += text;
      else v.partial = { at, text };
      if (!last) this.endPartial(v);
    });
    v.dirty = true;
  }

  /** The line being written is complete. */
  private endPartial(v: Vertex): void {
    if (!v.partial) return;
    v.tail.push(v.partial);
    if (v.tail.length > TAIL) v.tail.shift();
    v.pending.push(`${seconds(v.partial.at)} ${v.partial.text}`);
    v.partial = undefined;
  }

  private status(a: StatusAux): void {
    const v = this.get(a.step);
    const s: Status = { id: a.id, started: a.started ? Date.parse(a.started) : undefined, completed: a.completed ? Date.parse(a.completed) : undefined };
    v.statuses.push(s);
    let tm = '';
    if (s.started !== undefined) {
      const diff = ((s.completed ?? this.serverNow()) - s.started) / 1000;
      if (diff > 0.01) tm = ` ${diff.toFixed(1)}s`;
    }
    v.pending.push(`${a.id}${tm}${s.completed !== undefined ? ' done' : ''}`);
    v.dirty = true;
  }

  private serverNow(): number {
    return this.now() - (this.offset ?? 0);
  }

  /** What to write now: the updates since the last call (plain), or the view redrawn (tty). `final`: the
   *  stream has ended (steps still running were cut short). */
  render(final = false): string {
    if (final) {
      for (const v of this.vertices.values()) {
        if (v.started === undefined || v.completed !== undefined) continue;
        this.endPartial(v);
        v.canceled = true;
        v.dirty = true;
      }
    }
    return this.opts.mode === 'plain' ? this.plain(final) : this.tty(final);
  }

  // ---- plain ----

  private plain(final: boolean): string {
    const updated = [...this.vertices.values()].filter((v) => v.dirty && v.started !== undefined);
    const first = (list: Vertex[]) => (this.current && list.includes(this.current) ? [this.current, ...list.filter((v) => v !== this.current)] : list);
    const done = updated.filter((v) => v.completed !== undefined).sort((a, b) => a.completed! - b.completed!);
    // At the end, the steps the build's failure cut short come after the failure itself.
    const cut = final ? updated.filter((v) => v.completed === undefined && v.canceled) : [];
    let out = '';
    for (const v of [...first(done), ...first(cut)]) out += this.printVertex(v);
    // One running step a turn, as BuildKit: the current one while it has news (5 s at most when another
    // one has some too), else the first other one with news.
    const running = updated.filter((v) => !done.includes(v) && !cut.includes(v)).sort((a, b) => this.order.indexOf(a) - this.order.indexOf(b));
    const current = this.current && running.includes(this.current) ? this.current : undefined;
    const others = running.filter((v) => v !== current);
    const next = current && (!others.length || this.now() - this.since < SLICE) ? current : others[0];
    if (next) out += this.printVertex(next);
    return out;
  }

  private printVertex(v: Vertex): string {
    let out = '';
    if (v !== this.current) {
      if (this.current) out += `#${this.current.step} ...\n`;
      if (this.printedAny) out += '\n';
      this.printedAny = true;
      out += `#${v.step} ${v.name}\n`;
      this.since = this.now();
    }
    for (const line of v.pending) out += `#${v.step} ${line}\n`;
    v.pending = [];
    v.dirty = false;
    this.current = v;
    if (v.completed !== undefined || v.canceled) {
      this.current = undefined;
      if (!v.finishPrinted) {
        v.finishPrinted = true;
        if (v.canceled) out += `#${v.step} CANCELED\n`;
        else if (v.error !== undefined) out += `#${v.step} ERROR: ${v.error}\n`;
        else if (v.cached) out += `#${v.step} CACHED\n`;
        else out += `#${v.step} DONE ${(((v.completed ?? 0) - (v.started ?? 0)) / 1000).toFixed(1)}s\n`;
      }
    }
    return out;
  }

  // ---- tty ----

  private tty(final: boolean): string {
    const running = this.order.some((v) => v.completed === undefined);
    if (!final && !this.dirty && !running) return '';
    this.dirty = false;
    const width = Math.max(this.opts.width ?? 80, 20);
    const color = this.opts.color ?? false;
    const paint = (text: string, c: string) => (color ? c + text + RESET : text);
    const now = this.serverNow();
    const done = [...this.vertices.values()].filter((v) => v.completed !== undefined).length;
    const total = Math.max(this.total, this.vertices.size);
    const failed = this.order.some((v) => v.error !== undefined);
    const header = `[+] Building ${((this.now() - this.t0) / 1000).toFixed(1)}s (${done}/${total})${final && done === total && !failed ? ' FINISHED' : ''}`;
    const groups: { done: boolean; lines: string[] }[] = [];
    for (const v of this.order) {
      const ended = v.completed !== undefined || v.canceled;
      let dt = ((v.completed ?? now) - (v.started ?? now)) / 1000;
      if (dt < 0.05) dt = 0;
      const state = v.canceled ? 'CANCELED ' : v.error !== undefined ? 'ERROR ' : v.cached ? 'CACHED ' : '';
      const c = v.canceled ? YELLOW : v.error !== undefined ? RED : BLUE;
      const row = (pfx: string, name: string, timer: string) => {
        const line = align(pfx + cut(name, width - 1 - pfx.length - timer.length - 1), timer, width - 1);
        return ended ? paint(line, c) : line;
      };
      const lines = [row(' => ', state + v.name, timer(dt))];
      if (v.miss) lines.push(row(' => => ', `berth: cache miss: ${v.miss}`, ''));
      for (const s of v.statuses) lines.push(row(' => => ', s.id, timer(s.started === undefined ? 0 : ((s.completed ?? now) - s.started) / 1000)));
      if (!final && !ended) {
        const tail = [...v.tail, ...(v.partial ? [v.partial] : [])].slice(-TTY_TAIL);
        for (const l of tail) lines.push(paint(` => => # ${cut(printable(l.text), width - 10)}`, FAINT));
      }
      groups.push({ done: ended, lines });
    }
    // A running view fits the terminal: the oldest finished steps go first, then the oldest lines.
    if (!final && this.opts.height) {
      const room = Math.max(this.opts.height - 2, 1);
      const count = () => groups.reduce((n, g) => n + g.lines.length, 0);
      while (count() > room && groups.some((g) => g.done)) groups.splice(groups.findIndex((g) => g.done), 1);
    }
    let lines = [header, ...groups.flatMap((g) => g.lines)];
    if (!final && this.opts.height && lines.length > this.opts.height - 1) lines = [header, ...lines.slice(lines.length - (this.opts.height - 2))];
    let out = this.drawn ? `\x1b[${this.drawn}A\r` : '';
    out += '\x1b[?25l';
    for (const l of lines) out += `${l}\x1b[K\n`;
    out += '\x1b[J\x1b[?25h';
    this.drawn = lines.length;
    return out;
  }

  /** After the last view: the failed steps' last output lines (BuildKit's error logs), then the text that
   *  belongs to no step (tty). */
  summary(): string {
    let out = '';
    for (const v of this.order) {
      if (v.error === undefined || v.canceled) continue;
      out += `------\n > ${v.name}:\n`;
      for (const l of v.tail) out += `#${v.step} ${seconds(l.at)} ${l.text}\n`;
      out += '------\n';
    }
    return out + this.trailing;
  }
}

/** "0.123", "12.34", "123.4": BuildKit's log line times. */
function seconds(s: number): string {
  return s.toFixed(s < 10 ? 3 : s < 100 ? 2 : 1);
}

function timer(dt: number): string {
  return ` ${dt.toFixed(1).padStart(3)}s`;
}

function align(left: string, right: string, width: number): string {
  return left.padEnd(width - right.length) + right;
}

function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, Math.max(n, 0)) : s;
}

/** A log line as the view can show it: what a carriage return left, without control sequences. */
function printable(s: string): string {
  const afterCr = s.slice(s.lastIndexOf('\r') + 1);
  // eslint-disable-next-line no-control-regex
  return afterCr.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\x00-\x1f\x7f]/g, ' ');
}

export interface RenderBuildOptions extends ViewOptions {
  /** The final `{aux: {ID}}` (the image ID). */
  onAux?: (aux: Record<string, unknown>) => void;
  /** Milliseconds between two draws (100: BuildKit's rate). */
  interval?: number;
}

/** Draw a build's progress stream on `out`; an error in the stream ends it with a StreamError. */
export async function renderBuildProgress(src: Readable, out: Writable, opts: RenderBuildOptions): Promise<void> {
  const view = new BuildProgressView(opts);
  const write = (s: string) => (s ? out.write(s) : true);
  let error: string | undefined;
  const timer = setInterval(() => write(view.render()), opts.interval ?? 100);
  try {
    for await (const jm of parseJSONMessages(src)) {
      if (jm.error || jm.errorDetail) {
        error = jm.errorDetail?.message ?? jm.error ?? 'unknown error';
        break;
      }
      if (jm.aux && jm.id === undefined) {
        opts.onAux?.(jm.aux);
        continue;
      }
      write(view.handle(jm));
    }
  } finally {
    clearInterval(timer);
    write(view.render(true));
    write(view.summary());
  }
  if (error !== undefined) throw new StreamError(error);
}

/** How `build` shows its progress, from its flags: the request's header (berthd sends vertices when asked),
 *  and the drawing of the answer. With -q berthd sends only the image ID, drawn as JSON messages; the
 *  header still says this is berth's CLI (a BuildKit-like build: no classic step images). */
export function buildProgress(ctx: Context, f: ParsedFlags): { headers: Record<string, string>; render(res: Readable, onAux: (aux: Record<string, unknown>) => void): Promise<void> } {
  if (f.bool('quiet')) return { headers: { [BUILD_PROGRESS_HEADER]: 'vertex' }, render: (res, onAux) => renderJSONMessages(res, ctx.stdout, { tty: false, onAux }) };
  // Progress goes to stderr, as BuildKit's does; BUILDKIT_PROGRESS is the default mode, as for docker buildx.
  const err = ctx.stderr as Writable & { isTTY?: boolean; columns?: number; rows?: number };
  const flag = f.has('progress') ? f.str('progress') : ctx.env.BUILDKIT_PROGRESS || f.str('progress');
  const display = progressDisplay(flag, !!err.isTTY);
  const out = display === 'quiet' ? new Writable({ write: (_c, _e, cb) => cb() }) : err;
  const mode = display === 'tty' ? 'tty' : 'plain';
  return {
    headers: { [BUILD_PROGRESS_HEADER]: 'vertex' },
    render: (res, onAux) => renderBuildProgress(res, out, { mode, width: err.columns, height: err.isTTY ? err.rows : undefined, color: mode === 'tty' && !!err.isTTY && !ctx.env.NO_COLOR, onAux }),
  };
}
