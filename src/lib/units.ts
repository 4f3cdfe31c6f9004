// Sizes and durations as Docker prints and parses them (docker/go-units, Go's time.ParseDuration).
import { InvalidParameter } from './errors.js';

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's %.Ng: N significant digits, trailing zeros dropped. */
function formatG(x: number, digits: number): string {
  if (x === 0) return '0';
  const s = Number(x.toPrecision(digits));
  return String(s);
}

function customSize(size: number, base: number, units: string[], digits: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${formatG(size, digits)}${units[i]}`;
}

/** go-units HumanSize: decimal units, 3 significant digits: "2.13MB", "0B", "1kB". */
export function humanSize(bytes: number): string {
  return customSize(bytes, 1000, DECIMAL, 3);
}

/** go-units BytesSize: binary units, 4 significant digits: "2.031MiB". */
export function bytesSize(bytes: number): string {
  return customSize(bytes, 1024, BINARY, 4);
}

/** go-units HumanDuration, with its thresholds. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const minutes = Math.floor(ms / 60_000);
  const hours = Math.round(ms / 3_600_000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const SIZE_RE = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const EXP: Record<string, number> = { k: 1, m: 2, g: 3, t: 4, p: 5 };

function parseSize(s: string, base: number): number {
  const m = SIZE_RE.exec(s.trim());
  if (!m) throw new InvalidParameter(`invalid size: '${s}'`);
  const unit = m[2]?.toLowerCase();
  return Math.floor(Number(m[1]) * (unit ? base ** EXP[unit]! : 1));
}

/** go-units RAMInBytes: "512m" → 536870912 (binary multipliers, as docker run --memory). */
export function ramInBytes(s: string): number {
  return parseSize(s, 1024);
}

/** go-units FromHumanSize: "10m" → 10000000 (decimal multipliers). */
export function fromHumanSize(s: string): number {
  return parseSize(s, 1000);
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go time.ParseDuration: "1m30s", "500ms", "1.5h", "-1s", "0" → milliseconds. */
export function parseDuration(s: string): number {
  const bad = () => new InvalidParameter(`time: invalid duration "${s}"`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (!rest) throw bad();
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest) {
    const m = re.exec(rest);
    if (!m) throw bad();
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}
