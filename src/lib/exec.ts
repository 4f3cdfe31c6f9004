// The one wrapper through which every external program (runc, mount, tar, ip, ...) is run:
// it records argv and stderr and turns failure into a typed error naming the command.
import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { SystemError } from './errors.js';

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
