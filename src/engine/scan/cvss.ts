// CVSS base scores from vector strings (FIRST's CVSS v3.0 and v3.1 specifications, section 7): the
// base metric weights, the Impact/Exploitability sub-scores, and each version's Roundup. CVSS v2 and
// v4 vectors are recognised and reported as unscored rather than guessed at.

export type Severity = 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface CvssResult {
  /** '3.0' | '3.1' for scored vectors; '2.0' / '4.0' are recognised but unscored. */
  version: '2.0' | '3.0' | '3.1' | '4.0';
  vector: string;
  /** The base score; undefined for a version berth does not score. */
  score?: number;
  severity?: Severity;
}

export type CvssOutcome = CvssResult | { error: string };

const W = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

const BASE = ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'] as const;
const VALUES: Record<string, string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
  // Temporal and environmental metrics: accepted (and ignored by the base score).
  E: ['X', 'U', 'P', 'F', 'H'],
  RL: ['X', 'O', 'T', 'W', 'U'],
  RC: ['X', 'U', 'R', 'C'],
  CR: ['X', 'L', 'M', 'H'],
  IR: ['X', 'L', 'M', 'H'],
  AR: ['X', 'L', 'M', 'H'],
  MAV: ['X', 'N', 'A', 'L', 'P'],
  MAC: ['X', 'L', 'H'],
  MPR: ['X', 'N', 'L', 'H'],
  MUI: ['X', 'N', 'R'],
  MS: ['X', 'U', 'C'],
  MC: ['X', 'N', 'L', 'H'],
  MI: ['X', 'N', 'L', 'H'],
  MA: ['X', 'N', 'L', 'H'],
};

/** CVSS v3.1 Roundup (Appendix A): the smallest number with one decimal ≥ x, free of float error. */
export function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  if (i % 10000 === 0) return i / 100000;
  return (Math.floor(i / 10000) + 1) / 10;
}

/** CVSS v3.0 Roundup: ceil to one decimal. */
export function roundup30(x: number): number {
  return Math.ceil(x * 10) / 10;
}

export function severityOf(score: number): Severity {
  if (score === 0) return 'NONE';
  if (score < 4) return 'LOW';
  if (score < 7) return 'MEDIUM';
  if (score < 9) return 'HIGH';
  return 'CRITICAL';
}

/** Score a CVSS vector; `{error}` names what is wrong with a malformed one. Never throws. */
export function cvss(vector: string): CvssOutcome {
  if (typeof vector !== 'string' || vector.trim() === '') return { error: 'empty CVSS vector' };
  const v = vector.trim();
  if (/^CVSS:4\.0\//.test(v)) return { version: '4.0', vector: v };
  const m = /^CVSS:(3\.[01])\/(.*)$/.exec(v);
  if (!m) {
    // CVSS v2 has no prefix: AV:N/AC:L/Au:N/C:P/I:P/A:P (optionally "(…)").
    if (/^\(?AV:[LAN]\/AC:[HML]\/Au:[MSN]\/C:[NPC]\/I:[NPC]\/A:[NPC]/.test(v)) return { version: '2.0', vector: v };
    return { error: `unrecognised CVSS vector "${v}": expected CVSS:3.1/AV:…/AC:…/PR:…/UI:…/S:…/C:…/I:…/A:…` };
  }
  const version = m[1] as '3.0' | '3.1';
  const metrics: Record<string, string> = {};
  for (const part of m[2]!.split('/')) {
    const kv = /^([A-Z]+):([A-Z])$/.exec(part);
    if (!kv) return { error: `malformed CVSS metric "${part}" in ${v}` };
    const [, name, value] = kv as unknown as [string, string, string];
    if (!Object.hasOwn(VALUES, name)) return { error: `unknown CVSS metric "${name}" in ${v}` };
    if (!VALUES[name]!.includes(value)) return { error: `invalid value "${value}" for CVSS metric ${name} in ${v}` };
    if (Object.hasOwn(metrics, name)) return { error: `CVSS metric ${name} given twice in ${v}` };
    metrics[name] = value;
  }
  const missing = BASE.filter((b) => !Object.hasOwn(metrics, b));
  if (missing.length) return { error: `CVSS vector ${v} lacks the base metric(s) ${missing.join(', ')}` };
  const score = baseScore3(metrics, version);
  return { version, vector: v, score, severity: severityOf(score) };
}

function baseScore3(m: Record<string, string>, version: '3.0' | '3.1'): number {
  const changed = m.S === 'C';
  const pr = m.PR === 'N' ? 0.85 : m.PR === 'L' ? (changed ? 0.68 : 0.62) : changed ? 0.5 : 0.27;
  const av = W.AV[m.AV as keyof typeof W.AV];
  const ac = W.AC[m.AC as keyof typeof W.AC];
  const ui = W.UI[m.UI as keyof typeof W.UI];
  const c = W.CIA[m.C as keyof typeof W.CIA];
  const i = W.CIA[m.I as keyof typeof W.CIA];
  const a = W.CIA[m.A as keyof typeof W.CIA];
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  const roundup = version === '3.1' ? roundup31 : roundup30;
  return changed ? roundup(Math.min(1.08 * (impact + exploitability), 10)) : roundup(Math.min(impact + exploitability, 10));
}

/** The matcher's short form: score and rating of a v3 vector, undefined for anything else. */
export function cvss3(vector: string): { score: number; severity: Severity } | undefined {
  const r = cvss(vector);
  if ('error' in r || r.score === undefined || r.severity === undefined) return undefined;
  return { score: r.score, severity: r.severity };
}
