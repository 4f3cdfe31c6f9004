// What a command is: its flag table, usage text, argument count rule and the function that runs it.
// main.ts finds the command, parses its flags, checks its arguments and calls `run` with a Context.
import type { Readable, Writable } from 'node:stream';
import type { EngineClient } from '../client/engine.js';
import type { FlagSpec, ParsedFlags } from './flags.js';

export interface ArgRule {
  min?: number;
  max?: number;
}

export interface CommandSpec {
  /** Usage after the command path: "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
  usage: string;
  description: string;
  flags: FlagSpec[];
  args?: ArgRule;
  /** run/create/exec: flags end at the first positional; the rest is the container's command. */
  stopAtFirstArg?: boolean;
  aliases?: string[];
  run(ctx: Context, flags: ParsedFlags): Promise<number>;
}

export interface Context {
  /** "berth run", "berth container ls": what the user typed, for messages. */
  cmdPath: string;
  client(): EngineClient;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** An error that ends the command with a given exit status (docker's cli.StatusError). */
export class StatusError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** docker's "requires at least/exactly/at most N argument(s)" check; exit status 1. */
export function checkArgs(cmdPath: string, spec: CommandSpec, args: string[]): string | undefined {
  const { min, max } = spec.args ?? {};
  const plural = (n: number): string => (n === 1 ? 'argument' : 'arguments');
  if (min !== undefined && max !== undefined && min === max && args.length !== min)
    return `"${cmdPath}" requires exactly ${min} ${plural(min)}.`;
  if (min !== undefined && args.length < min) return `"${cmdPath}" requires at least ${min} ${plural(min)}.`;
  if (max !== undefined && args.length > max) {
    return max === 0 ? `"${cmdPath}" accepts no arguments.` : `"${cmdPath}" requires at most ${max} ${plural(max)}.`;
  }
  return undefined;
}

/** Write and wait until the data is handed to the OS (so process.exit cannot cut it off). */
export function writeOut(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
}
