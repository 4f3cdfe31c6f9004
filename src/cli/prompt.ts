// docker's command.PromptForConfirmation: ask on stdout, read one line from stdin, yes only on y/Y.
import { createInterface } from 'node:readline';
import { writeOut, type Context } from './command.js';

export async function confirm(ctx: Context, message: string): Promise<boolean> {
  await writeOut(ctx.stdout, `${message}\nAre you sure you want to continue? [y/N] `);
  const rl = createInterface({ input: ctx.stdin, terminal: false });
  const answer = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (!ctx.stdin.isTTY) await writeOut(ctx.stdout, '\n');
  return /^y(es)?$/i.test(answer.trim());
}
