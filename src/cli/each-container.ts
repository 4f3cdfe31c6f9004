// The multi-container verbs' loop (stop, kill, rm, update …): one name at a time, errors kept for the end.
import { ApiError } from '../client/errors.js';
import { StatusError, writeOut, type Context } from './command.js';

/**
 * Apply `fn` to each named container, printing the name on success; daemon errors are collected and
 * printed at the end, exit status 1 — docker's behaviour for the multi-container verbs.
 */
export async function eachContainer(
  ctx: Context,
  names: string[],
  fn: (name: string) => Promise<string | void>,
): Promise<number> {
  const errors: string[] = [];
  for (const name of names) {
    try {
      const printed = await fn(name);
      await writeOut(ctx.stdout, `${printed ?? name}\n`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.push(`Error response from daemon: ${err.message}`);
    }
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}
