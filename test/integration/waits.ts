// Waiting for a state instead of sleeping: poll a predicate until it holds, and fail naming what was
// awaited (with the last value seen) when a generous deadline passes. Tests synchronise on states and
// events, never on elapsed time.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** How long before giving up; generous, because a loaded machine is slow, not wrong. */
  timeoutMs?: number;
  /** Pause between two polls (how often to look, not how long to wait). */
  intervalMs?: number;
}

/**
 * Poll `predicate` until it returns a truthy value, and return that value. A predicate that throws is
 * treated as "not yet" (its last error is reported if the deadline passes).
 */
export async function waitFor<T>(predicate: () => T | Promise<T>, what: string, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last seen: ${JSON.stringify(last)})`);
    await delay(opts.intervalMs ?? 50);
  }
}
