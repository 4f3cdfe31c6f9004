// The one wrapper through which every external program (runc, mount, tar, ip, ...) is run:
// it records argv and stderr and turns failure into a typed error naming the command.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { SystemError } from './errors.js';

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

export interface StreamOptions {
  /** stdin, stdout, stderr (and more): 'pipe' unless told. */
  stdio?: SpawnOptions['stdio'];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Start a program whose input and output the caller streams (a tar pipe, a container run in the
 *  foreground) and hand back the child: unlike `run`, nothing is collected and no exit code is judged. */
export function spawnStreaming(argv: string[], opts: StreamOptions = {}): ChildProcess {
  return spawn(argv[0]!, argv.slice(1), { stdio: opts.stdio ?? ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
}
