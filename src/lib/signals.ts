// Signal names and numbers as dockerd parses them (moby pkg/signal, Linux): "SIGTERM", "term", "15",
// "RTMIN+3" are one signal each; anything else is refused with dockerd's words before it reaches runc.
import { InvalidParameter } from './errors.js';

const NAMED: Record<string, number> = {
  ABRT: 6, ALRM: 14, BUS: 7, CHLD: 17, CLD: 17, CONT: 18, FPE: 8, HUP: 1, ILL: 4, INT: 2, IO: 29, IOT: 6,
  KILL: 9, PIPE: 13, POLL: 29, PROF: 27, PWR: 30, QUIT: 3, SEGV: 11, STKFLT: 16, STOP: 19, SYS: 31,
  TERM: 15, TRAP: 5, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, USR1: 10, USR2: 12, VTALRM: 26, WINCH: 28,
  XCPU: 24, XFSZ: 25,
};
const RTMIN = 34;
const RTMAX = 64;

function byName(name: string): number | undefined {
  if (name in NAMED) return NAMED[name];
  if (name === 'RTMIN') return RTMIN;
  if (name === 'RTMAX') return RTMAX;
  const m = /^RTMIN\+(\d+)$/.exec(name) ?? /^RTMAX-(\d+)$/.exec(name);
  if (!m) return undefined;
  const n = name.startsWith('RTMIN') ? RTMIN + Number(m[1]) : RTMAX - Number(m[1]);
  return n >= RTMIN && n <= RTMAX ? n : undefined;
}

/** The signal's number; InvalidParameter `Invalid signal: X` as dockerd answers for a name or number it does not know. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= RTMAX) return n;
    throw new InvalidParameter(`Invalid signal: ${raw}`);
  }
  const n = byName(raw.toUpperCase().replace(/^SIG/, ''));
  if (n === undefined) throw new InvalidParameter(`Invalid signal: ${raw}`);
  return n;
}
