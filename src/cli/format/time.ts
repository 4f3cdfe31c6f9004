// Times as the docker CLI prints them: Go's time.Time.String() and "N units ago".
import { humanDuration } from '../../lib/units.js';

const pad = (n: number, w = 2): string => String(Math.trunc(Math.abs(n))).padStart(w, '0');

/** Go's Time.String() in local time: "2024-01-02 15:04:05 +0000 UTC". */
export function goTimeString(date: Date): string {
  const offsetMin = -date.getTimezoneOffset();
  const sign = offsetMin >= 0 ? '+' : '-';
  const offset = `${sign}${pad(offsetMin / 60)}${pad(offsetMin % 60)}`;
  const zone = offsetMin === 0 && !process.env.TZ ? 'UTC' : zoneName(date) || offset;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${offset} ${zone}`
  );
}

function zoneName(date: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/** "5 seconds ago", as docker's RunningFor / CreatedSince. */
export function timeAgo(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - unixSeconds * 1000))} ago`;
}
