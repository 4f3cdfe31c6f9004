// The formats the compose schema names: `duration` is Go's time.ParseDuration syntax ("1m30s", "10s",
// "500ms"), as Compose parses healthcheck intervals, stop_grace_period and update delays.
import { parseDurationNanos } from '../../lib/units.js';

function duration(value: string): boolean {
  try {
    parseDurationNanos(value);
    return true;
  } catch {
    return false;
  }
}

export const formats: Record<string, { type: 'string'; validate: (value: string) => boolean }> = {
  duration: { type: 'string', validate: duration },
};
