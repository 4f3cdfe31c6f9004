// OSV records (https://ossf.github.io/osv-schema/) as berth's vulnerability record format: validation of
// what an import accepts, and the evaluation of one record against one installed package version.
// Ecosystems: Debian:N (records name SOURCE packages), Alpine:vX.Y, npm, PyPI, Go (Ubuntu:… too, as dpkg).
// GIT ranges are ignored; ECOSYSTEM ranges compare in the ecosystem's own scheme, SEMVER ranges as semver.
import { COMPARATORS, schemeOf, type Comparator } from './versions/index.js';
import { compareGo } from './versions/go.js';
import { compareSemver } from './versions/semver.js';

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: OsvEvent[];
}

export interface OsvSeverity {
  type: string;
  score: string;
}

export interface OsvAffected {
  package: { ecosystem: string; name: string; purl?: string };
  ranges: OsvRange[];
  versions: string[];
  severity?: OsvSeverity[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvRecord {
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases: string[];
  related?: string[];
  summary?: string;
  details?: string;
  severity: OsvSeverity[];
  affected: OsvAffected[];
  references?: Array<{ type: string; url: string }>;
  database_specific?: Record<string, unknown>;
  schema_version?: string;
}

export type SkipReason = 'unknown-ecosystem' | 'malformed' | 'no-affected';
export type Validated = { record: OsvRecord } | { skip: SkipReason; reason: string };

/** The ecosystem without its release suffix: `Debian:12` → `Debian`. */
export function baseEcosystem(ecosystem: string): string {
  return ecosystem.split(':', 1)[0]!;
}

/** Package names as the ecosystem compares them (PyPI: PEP 503 normalised; others exact). */
export function normalizeName(ecosystem: string, name: string): string {
  return baseEcosystem(ecosystem) === 'PyPI' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

/** The OSV ecosystem for an image's /etc/os-release (ID, VERSION_ID): debian 12 → Debian:12,
 * alpine 3.19.1 → Alpine:v3.19, ubuntu 22.04 → Ubuntu:22.04; undefined for others. */
export function ecosystemForDistro(distro: { id: string; versionId?: string } | undefined): string | undefined {
  if (!distro?.versionId) return undefined;
  const v = distro.versionId;
  switch (distro.id) {
    case 'debian':
      return /^[0-9]+/.test(v) ? `Debian:${/^[0-9]+/.exec(v)![0]}` : undefined;
    case 'alpine': {
      const m = /^([0-9]+)\.([0-9]+)/.exec(v);
      return m ? `Alpine:v${m[1]}.${m[2]}` : undefined;
    }
    case 'ubuntu':
      return `Ubuntu:${v}`;
    default:
      return undefined;
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function strings(x: unknown): string[] | null {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x) || x.some((s) => typeof s !== 'string')) return null;
  return x as string[];
}

const EVENT_KEYS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

/** Check a parsed JSON value against the parts of the OSV schema berth uses; keep what it needs. */
export function validateRecord(raw: unknown): Validated {
  if (!isObject(raw)) return { skip: 'malformed', reason: 'not a JSON object' };
  const id = raw.id;
  if (typeof id !== 'string' || id === '') return { skip: 'malformed', reason: 'no "id"' };
  const bad = (reason: string): Validated => ({ skip: 'malformed', reason: `${id}: ${reason}` });
  if (typeof raw.modified !== 'string') return bad('no "modified" timestamp');
  for (const k of ['published', 'withdrawn', 'summary', 'details', 'schema_version'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') return bad(`"${k}" is not a string`);
  }
  const aliases = strings(raw.aliases);
  if (!aliases) return bad('"aliases" is not a list of strings');
  const related = strings(raw.related);
  if (!related) return bad('"related" is not a list of strings');
  const severity = severities(raw.severity);
  if (!severity) return bad('"severity" is not a list of {type, score}');
  if (raw.affected !== undefined && !Array.isArray(raw.affected)) return bad('"affected" is not a list');
  const rawAffected = (raw.affected ?? []) as unknown[];
  if (rawAffected.length === 0) return { skip: 'no-affected', reason: `${id}: no affected packages` };
  const affected: OsvAffected[] = [];
  let unknownEcosystem: string | undefined;
  for (const a of rawAffected) {
    if (!isObject(a) || !isObject(a.package)) return bad('an "affected" entry has no "package"');
    const { ecosystem, name, purl } = a.package;
    if (typeof ecosystem !== 'string' || typeof name !== 'string' || name === '') return bad('an affected package lacks "ecosystem" or "name"');
    if (purl !== undefined && typeof purl !== 'string') return bad('"purl" is not a string');
    const scheme = schemeOf(ecosystem);
    if (!scheme) {
      unknownEcosystem ??= ecosystem;
      continue;
    }
    const versions = strings(a.versions);
    if (!versions) return bad(`"versions" of ${name} is not a list of strings`);
    if (a.ranges !== undefined && !Array.isArray(a.ranges)) return bad(`"ranges" of ${name} is not a list`);
    const ranges: OsvRange[] = [];
    for (const r of (a.ranges ?? []) as unknown[]) {
      if (!isObject(r) || typeof r.type !== 'string') return bad(`a range of ${name} has no "type"`);
      if (r.type === 'GIT') continue;
      if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') return bad(`unknown range type "${r.type}" for ${name}`);
      if (!Array.isArray(r.events) || r.events.length === 0) return bad(`a ${r.type} range of ${name} has no events`);
      const compare = rangeComparator(r.type, ecosystem);
      const events: OsvEvent[] = [];
      for (const e of r.events as unknown[]) {
        if (!isObject(e)) return bad(`an event of ${name} is not an object`);
        const keys = Object.keys(e).filter((k) => (EVENT_KEYS as readonly string[]).includes(k));
        if (keys.length !== 1) return bad(`an event of ${name} must have exactly one of ${EVENT_KEYS.join(', ')}`);
        const k = keys[0] as (typeof EVENT_KEYS)[number];
        const v = e[k];
        if (typeof v !== 'string' || v === '') return bad(`the "${k}" event of ${name} is not a version string`);
        if (!(k === 'introduced' && v === '0') && compare(v, v) === null) {
          return bad(`${r.type} range of ${name}: "${v}" is not a ${ecosystem} version`);
        }
        events.push({ [k]: v });
      }
      if (!events.some((e) => e.introduced !== undefined)) return bad(`a range of ${name} has no "introduced" event`);
      ranges.push({ type: r.type, events });
    }
    const entry: OsvAffected = { package: { ecosystem, name, ...(purl ? { purl } : {}) }, ranges, versions };
    const sev = severities(a.severity);
    if (sev && sev.length) entry.severity = sev;
    if (isObject(a.ecosystem_specific)) entry.ecosystem_specific = a.ecosystem_specific;
    if (isObject(a.database_specific)) entry.database_specific = a.database_specific;
    affected.push(entry);
  }
  if (affected.length === 0) return { skip: 'unknown-ecosystem', reason: `${id}: ecosystem "${unknownEcosystem}" is not supported` };
  const record: OsvRecord = { id, modified: raw.modified, aliases, severity, affected };
  if (related.length) record.related = related;
  for (const k of ['published', 'withdrawn', 'summary', 'details', 'schema_version'] as const) {
    if (typeof raw[k] === 'string') record[k] = raw[k] as string;
  }
  if (Array.isArray(raw.references)) {
    record.references = (raw.references as unknown[])
      .filter((r): r is { type: string; url: string } => isObject(r) && typeof r.url === 'string')
      .map((r) => ({ type: String(r.type ?? 'WEB'), url: r.url }));
  }
  if (isObject(raw.database_specific)) record.database_specific = raw.database_specific;
  return { record };
}

function severities(x: unknown): OsvSeverity[] | null {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x)) return null;
  const out: OsvSeverity[] = [];
  for (const s of x) {
    if (!isObject(s) || typeof s.type !== 'string' || typeof s.score !== 'string') return null;
    out.push({ type: s.type, score: s.score });
  }
  return out;
}

function rangeComparator(type: string, ecosystem: string): Comparator {
  if (type === 'SEMVER') return baseEcosystem(ecosystem) === 'Go' ? compareGo : compareSemver;
  return COMPARATORS[schemeOf(ecosystem)!];
}

export type Status = 'affected' | 'not-affected' | 'unknown';

export interface Verdict {
  status: Status;
  /** Versions that fix it (the first fixed version above the installed one in each affecting range). */
  fixed?: string[];
  /** Why the answer is "unknown" (or "not-affected" for a withdrawn record). */
  reason?: string;
}

/** Whether `version` of package (ecosystem, name) is affected by the record. An unparseable version is
 * "unknown" — never silently matched as vulnerable or safe. */
export function evaluate(record: OsvRecord, ecosystem: string, name: string, version: string): Verdict {
  if (record.withdrawn) return { status: 'not-affected', reason: `${record.id} was withdrawn on ${record.withdrawn}` };
  const scheme = schemeOf(ecosystem);
  if (!scheme) return { status: 'unknown', reason: `ecosystem "${ecosystem}" is not supported` };
  const key = normalizeName(ecosystem, name);
  let affected = false;
  let unknown: string | undefined;
  const fixed = new Set<string>();
  for (const a of record.affected) {
    if (a.package.ecosystem !== ecosystem || normalizeName(ecosystem, a.package.name) !== key) continue;
    const own = COMPARATORS[scheme];
    if (own(version, version) === null) {
      unknown ??= `"${version}" is not a valid ${ecosystem} version`;
      continue;
    }
    if (a.versions.some((v) => v === version || own(v, version) === 0)) affected = true;
    for (const r of a.ranges) {
      const compare = rangeComparator(r.type, ecosystem);
      if (compare(version, version) === null) {
        unknown ??= `"${version}" is not a semantic version (a SEMVER range of ${record.id})`;
        continue;
      }
      const verdict = inRange(r.events, version, compare);
      if (verdict.affected) {
        affected = true;
        if (verdict.fixed) fixed.add(verdict.fixed);
      }
    }
  }
  if (affected) return fixed.size ? { status: 'affected', fixed: [...fixed] } : { status: 'affected' };
  if (unknown) return { status: 'unknown', reason: unknown };
  return { status: 'not-affected' };
}

function eventVersion(e: OsvEvent): string {
  return (e.introduced ?? e.fixed ?? e.last_affected ?? e.limit)!;
}

const EVENT_ORDER = (e: OsvEvent): number => (e.introduced !== undefined ? 0 : e.last_affected !== undefined ? 1 : e.fixed !== undefined ? 2 : 3);

/** OSV's range evaluation: walk the events in version order; introduced opens, fixed (≥) and
 * last_affected (>) close; limit events bound the whole range from above. */
export function inRange(events: OsvEvent[], version: string, compare: Comparator): { affected: boolean; fixed?: string } {
  const cmp = (a: string, b: string): number => {
    if (a === '0' && b === '0') return 0;
    if (a === '0') return -1;
    if (b === '0') return 1;
    return compare(a, b) ?? 0;
  };
  const limits = events.filter((e) => e.limit !== undefined).map((e) => e.limit!);
  if (limits.length && !limits.some((l) => cmp(version, l) < 0)) return { affected: false };
  const sorted = events
    .filter((e) => e.limit === undefined)
    .map((e, i) => ({ e, i }))
    .sort((x, y) => cmp(eventVersion(x.e), eventVersion(y.e)) || EVENT_ORDER(x.e) - EVENT_ORDER(y.e) || x.i - y.i)
    .map((x) => x.e);
  let affected = false;
  let fixed: string | undefined;
  for (const e of sorted) {
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || cmp(version, e.introduced) >= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if (cmp(version, e.fixed) >= 0) affected = false;
    } else if (e.last_affected !== undefined) {
      if (cmp(version, e.last_affected) > 0) affected = false;
    }
  }
  if (affected) {
    // The first fix above the installed version.
    for (const e of sorted) {
      if (e.fixed !== undefined && cmp(e.fixed, version) > 0) {
        fixed = e.fixed;
        break;
      }
    }
  }
  return fixed ? { affected, fixed } : { affected };
}

/** The affected entries of a record that name (ecosystem, name). */
export function affectedEntries(record: OsvRecord, ecosystem: string, name: string): OsvAffected[] {
  const key = normalizeName(ecosystem, name);
  return record.affected.filter((a) => a.package.ecosystem === ecosystem && normalizeName(ecosystem, a.package.name) === key);
}
