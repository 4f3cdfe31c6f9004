// docker's command.PromptForConfirmation: ask on stdout, read one line from stdin, yes only on y/Y.
import { createInterface } from 'node:readline';
import { writeOut, type Context } from './command.js';

export async function confirm(ctx: Context, message: string): Promise<boolean> {
  const answer = await readLine(ctx, `${message}\nAre you sure you want to continue? [y/N] `);
  if (!ctx.stdin.isTTY) await writeOut(ctx.stdout, '\n');
  return /^y(es)?$/i.test(answer);
}

/** Show `prompt`, read one line from stdin ('' at end of input). */
export async function readLine(ctx: Context, prompt: string): Promise<string> {
  await writeOut(ctx.stdout, prompt);
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return line.trim();
}
