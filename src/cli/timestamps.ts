// --since/--until values as the Engine API takes them; shared by logs, events and their compose forms.
import { parseDuration } from '../lib/units.js';
import { StatusError } from './command.js';

/** docker's timetypes.GetTimestamp: a duration ago, an RFC 3339 date or a unix timestamp → "sec.nanos". */
export function apiTimestamp(value: string, now = Date.now(), what = 'since'): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  // A timestamp keeps its nanoseconds, as the docker CLI sends them: logs -t output pasted into
  // --since/--until must select exactly the lines at and around it.
  const frac = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{1,9})/.exec(value)?.[1];
  if (frac !== undefined) {
    const whole = Date.parse(value.replace(`.${frac}`, ''));
    if (!Number.isNaN(whole)) return `${Math.floor(whole / 1000)}.${frac.padEnd(9, '0')}`;
  }
  let ms: number;
  try {
    ms = now - parseDuration(value);
  } catch {
    ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new StatusError(`invalid value for "${what}": failed to parse value as time or duration: "${value}"`, 1);
  }
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1e6).padStart(9, '0')}`;
}
