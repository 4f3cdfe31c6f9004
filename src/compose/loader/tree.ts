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

/** The first rule whose pattern matches `path`. */
export function lookup<T>(rules: readonly (readonly [Pattern, T])[], path: Path): T | undefined {
  for (const [p, rule] of rules) if (matches(path, p)) return rule;
  return undefined;
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
