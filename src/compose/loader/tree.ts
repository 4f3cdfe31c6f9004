// Paths in a compose document ("services.web.ports.[]") and the patterns the loader's rules are keyed by
// ("services.*.ports"), as compose-go's tree package has them: a path is the keys from the top, a
// sequence item is "[]" (or its index where one is needed), "*" in a pattern matches any one element.

export type Dict = Record<string, unknown>;
export type Path = readonly string[];

/** "[]": a sequence item, in paths used for matching and in interpolation errors. */
export const LIST = '[]';

/** A compiled pattern: its elements, "*" matching any. */
export type Pattern = readonly string[];

export function pattern(text: string): Pattern {
  return text.split('.');
}

export function matches(path: Path, p: Pattern): boolean {
  if (path.length !== p.length) return false;
  for (let i = 0; i < p.length; i++) if (p[i] !== '*' && p[i] !== path[i]) return false;
  return true;
}

type Rules<T> = readonly (readonly [Pattern, T])[];
interface RuleIndex<T> {
  /** Rules by their pattern's length and last element ("*" for any). */
  byKey: Map<string, (readonly [Pattern, T])[]>;
}
const indexes = new WeakMap<object, RuleIndex<unknown>>();

function indexOf<T>(rules: Rules<T>): RuleIndex<T> {
  let index = indexes.get(rules) as RuleIndex<T> | undefined;
  if (!index) {
    index = { byKey: new Map() };
    for (const rule of rules) {
      const p = rule[0];
      const key = `${p.length}:${p[p.length - 1]}`;
      const list = index.byKey.get(key) ?? [];
      list.push(rule);
      index.byKey.set(key, list);
    }
    indexes.set(rules, index as RuleIndex<unknown>);
  }
  return index;
}

/** The first rule whose pattern matches `path` (rules indexed once per table: this runs for every node). */
export function lookup<T>(rules: Rules<T>, path: Path): T | undefined {
  const index = indexOf(rules);
  const n = path.length;
  const exact = index.byKey.get(`${n}:${path[n - 1]}`);
  const wild = index.byKey.get(`${n}:*`);
  let best: { at: number; rule: T } | undefined;
  // keep the table's order among the two candidate lists
  for (const list of [exact, wild]) {
    if (!list) continue;
    for (const entry of list) {
      if (!matches(path, entry[0])) continue;
      const at = rules.indexOf(entry);
      if (!best || at < best.at) best = { at, rule: entry[1] };
      break;
    }
  }
  return best?.rule;
}

export function pathString(path: Path): string {
  return path.join('.');
}

export function isDict(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A deep copy of a YAML tree (mappings, sequences, scalars). */
export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepClone) as T;
  if (isDict(v)) {
    const out: Dict = {};
    for (const k of Object.keys(v)) out[k] = deepClone(v[k]);
    return out as T;
  }
  return v;
}

/** Go's fmt "%v" of a YAML scalar (what compose-go writes when it turns a value into text). */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : formatFloat(v);
  return String(v);
}

function formatFloat(v: number): string {
  // Go prints float64 with %v as the shortest repr, using exponent form for large/small magnitudes.
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}
