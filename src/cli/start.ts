// The start of `run`: POST /containers/{id}/start, its failure in docker's words and exit statuses
// (runStartContainerErr: 127 command not found, 126 not executable, else 125).
import { ApiError } from '../client/errors.js';
import type { EngineClient } from '../client/engine.js';
import type { Context } from './command.js';
import { runError } from './create.js';

/** docker's runStartContainerErr: 127 command not found, 126 not executable, else 125. */
export function startErrorStatus(message: string): number {
  const m = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(m)) return 127;
  if (/permission denied/.test(m)) return 126;
  return 125;
}

/** POST /containers/{id}/start; a daemon error reads "berth: Error response from daemon: …" with runStartContainerErr's status. */
export async function startOrFail(ctx: Context, client: EngineClient, id: string): Promise<void> {
  try {
    await client.call({ method: 'POST', path: `/containers/${id}/start` });
  } catch (err) {
    if (err instanceof ApiError) {
      const message = `Error response from daemon: ${err.message}`;
      throw runError(ctx, message, false, startErrorStatus(message));
    }
    throw err;
  }
}
