// The one wrapper through which every external program (runc, mount, tar, ip, ...) is run:
// it records argv and stderr and turns failure into a typed error naming the command.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { SystemError } from './errors.js';
import { traceNow, traceSpan, tracing } from './trace.js';

export type { ChildProcess } from 'node:child_process';

export class CommandError extends SystemError {
  constructor(
    readonly argv: string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${argv[0]} failed (${exitCode === null ? 'killed' : `exit ${exitCode}`}): ${stderr.trim() || '(no output)'} [${argv.join(' ')}]`);
  }
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Extra stdio entries from fd 3 on (e.g. a pipe the child reports through). */
  extraStdio?: SpawnOptions['stdio'];
  /** Do not throw on a non-zero exit; the caller reads exitCode. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Run a program to completion and collect its output. */
export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = tracing ? traceNow() : 0;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new CommandError(argv, null, e.message)));
    child.on('close', (code, signal) => {
      if (tracing) traceSpan(`exec ${commandName(argv)}`, started);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      const exitCode = code ?? (signal ? 128 : 1);
      if (exitCode !== 0 && !opts.allowFailure) reject(new CommandError(argv, code, stderr || stdout));
      else resolve({ stdout, stderr, exitCode });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/**
 * Start a program whose stdio the caller streams or hands over (tar pipes, a detached monitor, the
 * daemon the CLI auto-starts): node's `spawn`, same arguments and overloads, so the child's stream
 * types follow the stdio given. Here rather than at each call site so that every external program
 * still starts in this one module (DESIGN.md), where argv can be recorded or sandboxed later.
 */
export const startProcess: typeof spawn = ((command: string, args: readonly string[], options: SpawnOptions) =>
  spawn(command, args, options)) as typeof spawn;

/**
 * Run a program to completion synchronously (a credential helper, a `command -v` probe): node's
 * `spawnSync`, same arguments and overloads. Only for short programs where blocking is the point.
 */
export const runProcessSync: typeof spawnSync = ((...args: Parameters<typeof spawnSync>) => spawnSync(...args)) as typeof spawnSync;

export interface BoundedOptions {
  /** Past this many milliseconds the program gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  killGraceMs: number;
  /** Output beyond this many characters (stdout and stderr together, as they come) is dropped. */
  maxOutput: number;
}

export interface BoundedResult {
  /** The exit code; -1 when the program could not be started or was killed by a signal. */
  exitCode: number;
  output: string;
  timedOut: boolean;
}

/** Run a short program whose failure is an answer, not an error (a health probe): its stdout and stderr
 *  merged and capped, killed past its timeout. Never rejects. */
export function runBounded(argv: string[], o: BoundedOptions): Promise<BoundedResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const collect = (d: Buffer) => {
      if (out.length < o.maxOutput) out += String(d);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), o.killGraceMs).unref();
    }, o.timeoutMs);
    let settled = false;
    const done = (code: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode: timedOut ? -1 : code, output: out.slice(0, o.maxOutput), timedOut });
    };
    child.on('error', () => done(-1));
    child.on('close', (code) => done(code ?? -1));
  });
}

/** "runc start", "mount overlay", "ip link": the program and its first word that is not an option or a path. */
function commandName(argv: string[]): string {
  const word = argv.slice(1).find((a) => !a.startsWith('-') && !a.includes('/'));
  return `${argv[0]!.split('/').pop()}${word ? ' ' + word : ''}`;
}
