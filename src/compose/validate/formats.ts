// The formats the compose schema names: `duration` is a duration as Compose reads healthcheck
// intervals, stop_grace_period and update delays: Go's units ("1m30s", "500ms") plus "d" and "w".
import { parseDurationNs } from '../loader/units.js';

function duration(value: string): boolean {
  try {
    parseDurationNs(value);
    return true;
  } catch {
    return false;
  }
}

export const formats: Record<string, { type: 'string'; validate: (value: string) => boolean }> = {
  duration: { type: 'string', validate: duration },
};
