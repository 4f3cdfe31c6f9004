// Drawing compose progress events (src/compose/progress.ts) as Docker Compose v2 draws them, on stderr:
// - tty: a block redrawn in place at most 10 times a second — "[+] Running 3/4", then one line per
//   resource: spinner (✔ done, ! warning, ✘ error), the resource, its status (and details), its timer;
// - plain (off a terminal, or --progress plain): one line per event, " Container app-web-1 Started ";
// - quiet: nothing; json: one JSON object per event.
// --ansi never (or NO_COLOR) draws no colours; --ansi never also means plain lines (Compose: no cursor moves).
import type { Writable } from 'node:stream';
import type { Progress, ProgressEvent, ProgressState } from '../../compose/progress.js';
import type { ComposeOptions } from './context.js';

export type ProgressMode = 'tty' | 'plain' | 'quiet' | 'json';

export interface ProgressWriter extends Progress {
  /** Stop redrawing and draw the final state once more (call before printing anything else). */
  done(): void;
}

type Out = Writable & { isTTY?: boolean; columns?: number; rows?: number };

/** --progress and --ansi, for an output that is a terminal or not. */
export function progressMode(opts: Pick<ComposeOptions, 'progress' | 'ansi'>, isTTY: boolean): ProgressMode {
  switch (opts.progress) {
    case 'quiet':
    case 'plain':
    case 'json':
      return opts.progress;
    case 'tty':
      return 'tty';
    default:
      if (opts.ansi === 'never') return 'plain';
      return isTTY || opts.ansi === 'always' ? 'tty' : 'plain';
  }
}

export function makeProgress(out: Out, mode: ProgressMode, opts: { color?: boolean; dryRun?: boolean; title?: string } = {}): ProgressWriter {
  const prefix = opts.dryRun ? 'DRY-RUN MODE - ' : '';
  switch (mode) {
    case 'quiet':
      return { event: () => undefined, info: () => undefined, done: () => undefined };
    case 'json':
      return {
        event: (e) => out.write(JSON.stringify({ id: e.id, status: e.status, state: e.state, text: e.text ?? '', parent_id: e.parent }) + '\n'),
        info: (line) => out.write(JSON.stringify({ level: 'info', msg: line }) + '\n'),
        done: () => undefined,
      };
    case 'plain':
      // Compose prints fmt.Println(prefix, id, text, details): space-separated, a trailing space when no details.
      return {
        event: (e) => out.write(`${prefix} ${e.id} ${e.status} ${e.text ?? ''}\n`),
        info: (line) => out.write(`${line}\n`),
        done: () => undefined,
      };
    case 'tty':
      return new TtyProgress(out, opts.color ?? true, prefix, opts.title ?? 'Running');
  }
}

interface Task {
  id: string;
  status: string;
  text: string;
  state: ProgressState;
  parent?: string;
  start: number;
  end?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The live block: redrawn on a 100 ms tick while work is under way, once more at the end. */
export class TtyProgress implements ProgressWriter {
  private readonly tasks = new Map<string, Task>();
  private lines = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private finished = false;

  constructor(
    private readonly out: Out,
    private readonly color: boolean,
    private readonly prefix: string,
    private readonly title: string,
    private readonly now: () => number = Date.now,
  ) {}

  event(e: ProgressEvent): void {
    const t = this.tasks.get(e.id);
    const ended = e.state !== 'working';
    if (!t) this.tasks.set(e.id, { id: e.id, status: e.status, text: e.text ?? '', state: e.state, parent: e.parent, start: this.now(), end: ended ? this.now() : undefined });
    else {
      if (ended && t.state !== e.state) t.end = this.now();
      if (!ended && t.state !== 'working') t.end = undefined;
      Object.assign(t, { status: e.status, text: e.text ?? '', state: e.state });
    }
    if (this.finished) return;
    this.timer ??= setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }

  info(line: string): void {
    // A line of its own goes above the block: clear the block, print, redraw below.
    this.clear();
    this.out.write(`${line}\n`);
    this.lines = 0;
    if (!this.finished) this.draw();
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearInterval(this.timer);
    if (this.tasks.size) this.draw();
  }

  private clear(): void {
    if (this.lines) this.out.write(`\x1b[${this.lines}A\r\x1b[J`);
  }

  /** The block as text (exported for tests through render()). */
  render(width = this.out.columns ?? 80): string[] {
    const top = [...this.tasks.values()].filter((t) => !t.parent);
    const doneCount = top.filter((t) => t.state !== 'working').length;
    const c = (code: string, s: string) => (this.color ? `\x1b[${code}m${s}\x1b[0m` : s);
    const header = `${c('34', `[+] ${this.title} ${doneCount}/${top.length}`)}`;
    const idWidth = Math.max(...top.map((t) => t.id.length + this.prefix.length));
    const statusWidth = Math.max(...top.map((t) => t.status.length));
    const spin = SPINNER[this.frame % SPINNER.length]!;
    const lines = top.map((t) => {
      const mark = t.state === 'done' ? c('32', '✔') : t.state === 'warning' ? c('33', '!') : t.state === 'error' ? c('31', '✘') : c('34', spin);
      const statusColor = t.state === 'done' ? '32' : t.state === 'warning' ? '33' : t.state === 'error' ? '31' : '0';
      const secs = (((t.end ?? this.now()) - t.start) / 1000).toFixed(1) + 's';
      let left = ` ${mark} ${(this.prefix + t.id).padEnd(idWidth)} ${c(statusColor, t.status.padEnd(statusWidth))}`;
      let visible = 3 + idWidth + 1 + statusWidth;
      let details = t.text ? ` ${t.text}` : '';
      const room = width - visible - secs.length - 1;
      if (details.length > room) details = room > 4 ? details.slice(0, room - 3) + '...' : '';
      left += details;
      visible += details.length;
      return left + ' '.repeat(Math.max(width - visible - secs.length, 1)) + c('34', secs);
    });
    return [header, ...lines];
  }

  private draw(): void {
    this.frame++;
    const lines = this.render();
    this.clear();
    this.out.write(lines.map((l) => `${l}\x1b[K\n`).join(''));
    this.lines = lines.length;
  }
}
