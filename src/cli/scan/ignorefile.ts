// The ignore file (`--ignorefile`, default `.berthignore` in the working directory when present), Trivy's
// `.trivyignore` format extended with a package restriction:
//
//   # a comment; blank lines are skipped
//   CVE-2023-1234                          ignored everywhere
//   CVE-2023-5678 exp:2026-12-31           ignored until 2026-12-31 00:00 UTC, then reported again
//   GHSA-xxxx-yyyy-zzzz pkg:lodash         only for the package named lodash
//   CVE-2024-0001 pkg:npm/lodash@4.17.20   only for this purl (type/name, optionally @version)
//
// An ID matches a finding's VulnerabilityID or any of its aliases. Anything else on a line is an error
// naming the file and line.
import type { DetectedVulnerability } from '../../api/scan.js';

export interface IgnoreRule {
  id: string;
  expires?: Date;
  /** A package name, or a purl without its `pkg:` (`npm/lodash`, `npm/lodash@4.17.20`). */
  pkg?: string;
  line: number;
}

export class IgnoreFileError extends Error {}

export function parseIgnoreFile(text: string, file: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const [id, ...rest] = line.split(/\s+/);
    const rule: IgnoreRule = { id: id!, line: i + 1 };
    for (const word of rest) {
      const m = /^(exp|pkg):(.+)$/.exec(word);
      if (m?.[1] === 'exp') {
        const d = /^\d{4}-\d{2}-\d{2}$/.test(m[2]!) ? new Date(`${m[2]}T00:00:00Z`) : undefined;
        if (!d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== m[2]) {
          throw new IgnoreFileError(`${file}:${i + 1}: invalid expiry "${word}": write exp:YYYY-MM-DD`);
        }
        rule.expires = d;
      } else if (m?.[1] === 'pkg') {
        rule.pkg = m[2]!;
      } else {
        throw new IgnoreFileError(`${file}:${i + 1}: unexpected "${word}" after ${id}: a line is an ID, optionally followed by exp:YYYY-MM-DD and pkg:NAME (or pkg:TYPE/NAME[@VERSION])`);
      }
    }
    rules.push(rule);
  });
  return rules;
}

function purlBody(purl: string): string {
  return purl.replace(/^pkg:/, '').replace(/[?#].*$/, '');
}

function pkgMatches(pkg: string, v: DetectedVulnerability): boolean {
  if (!pkg.includes('/')) return pkg === v.PkgName || pkg === v.PkgSrcName;
  const body = v.PkgIdentifier?.PURL ? purlBody(v.PkgIdentifier.PURL) : undefined;
  if (!body) return false;
  const want = pkg.replace(/^pkg:/, '');
  return want.includes('@') ? decodeURIComponent(body) === decodeURIComponent(want) : decodeURIComponent(body.replace(/@[^@/]*$/, '')) === decodeURIComponent(want);
}

/** The rules in force at `now`, and those that expired (to be named in a warning). */
export function activeRules(rules: IgnoreRule[], now: Date): { active: IgnoreRule[]; expired: IgnoreRule[] } {
  const active: IgnoreRule[] = [];
  const expired: IgnoreRule[] = [];
  for (const r of rules) (r.expires && now.getTime() >= r.expires.getTime() ? expired : active).push(r);
  return { active, expired };
}

/** A predicate: does an active rule ignore this finding? */
export function ignorer(rules: IgnoreRule[]): (v: DetectedVulnerability) => boolean {
  return (v) => rules.some((r) => (r.id === v.VulnerabilityID || (v.Aliases ?? []).includes(r.id)) && (!r.pkg || pkgMatches(r.pkg, v)));
}
