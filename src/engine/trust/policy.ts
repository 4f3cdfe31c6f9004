// The trust policy: which images berthd accepts, in the spirit of containers-policy.json(5).
//
//   {
//     "default": [{ "type": "reject" }],
//     "transports": {
//       "docker": {
//         "127.0.0.1:5000/app": [{ "type": "signedBy", "keyPath": "/etc/berth/keys/release.pub" }],
//         "127.0.0.1:5000/tools": [{ "type": "signedBy", "keyPaths": ["a.pub", "b.pub"] }],
//         "127.0.0.1:5000": [{ "type": "insecureAcceptAnything" }]
//       }
//     }
//   }
//
// A reference takes the most specific scope that matches it: "host/repo:tag" (or "@digest"), then
// "host/repo", its namespaces ("host/ns"), "host", "*.domain" wildcards, else "default". Every requirement
// of the list must hold: `reject` never does, `insecureAcceptAnything` always does, `signedBy` (also
// spelled `sigstoreSigned`, as podman's cosign rules are) holds when a signature verifies with one of its keys.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidParameter } from '../../lib/errors.js';
import { normalizedName, type Reference } from '../../image-spec/reference.js';
import { loadPublicKey, type TrustedKey } from '../../distribution/cosign.js';
import { parseJsonWithLines } from './json-lines.js';

export type Requirement = { type: 'reject' } | { type: 'insecureAcceptAnything' } | { type: 'signedBy'; keys: TrustedKey[] };

export interface TrustPolicy {
  default: Requirement[];
  /** Scope → requirements, for the docker transport. */
  scopes: Map<string, Requirement[]>;
  /** Where it came from, for messages. */
  source: string;
}

/** What a policy asks of one reference. */
export type Decision = { kind: 'accept' } | { kind: 'reject'; scope: string } | { kind: 'signed'; keySets: TrustedKey[][]; scope: string };

/** Read and check a policy file; a syntax error or a bad rule is reported with the file, the line and what to fix. */
export function loadPolicy(file: string): TrustPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidParameter(`cannot read the trust policy ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return parsePolicy(text, file, path.dirname(path.resolve(file)), (p) => readFileSync(p));
}

/** Parse policy text; key paths are read with `readKey`, relative ones from `baseDir`. */
export function parsePolicy(text: string, source: string, baseDir: string, readKey: (p: string) => Buffer): TrustPolicy {
  let located;
  try {
    located = parseJsonWithLines(text);
  } catch (e) {
    throw new InvalidParameter(`trust policy ${source}: syntax error at ${(e as Error).message}`);
  }
  const { value, lineOf } = located;
  const at = (node: object | undefined) => {
    const line = node ? lineOf(node) : undefined;
    return line ? ` (line ${line})` : '';
  };
  const bad = (node: object | undefined, what: string): never => {
    throw new InvalidParameter(`trust policy ${source}${at(node)}: ${what}`);
  };
  if (!isObject(value)) return bad(undefined, 'expected a JSON object with "default" and "transports"');
  for (const k of Object.keys(value)) if (k !== 'default' && k !== 'transports') bad(value, `unknown key "${k}" (a policy has "default" and "transports")`);
  if (value.default === undefined) bad(value, '"default" is required: a list of requirements, e.g. [{"type": "reject"}]');

  const requirements = (v: unknown, where: string): Requirement[] => {
    if (!Array.isArray(v) || v.length === 0) return bad(isObject(v) || Array.isArray(v) ? v : undefined, `${where}: expected a non-empty list of requirements like [{"type": "signedBy", "keyPath": "release.pub"}]`);
    return v.map((r, i) => requirement(r, `${where}[${i}]`));
  };
  const requirement = (r: unknown, where: string): Requirement => {
    if (!isObject(r)) return bad(undefined, `${where}: expected an object with "type"`);
    const type = r.type;
    if (type === 'reject' || type === 'insecureAcceptAnything') {
      for (const k of Object.keys(r)) if (k !== 'type') bad(r, `${where}: "${type}" takes no "${k}"`);
      return { type };
    }
    if (type === 'signedBy' || type === 'sigstoreSigned') {
      for (const k of Object.keys(r)) {
        if (!['type', 'keyPath', 'keyPaths', 'keyType', 'signedIdentity'].includes(k)) bad(r, `${where}: unknown key "${k}" in a ${type} requirement (it takes keyPath or keyPaths)`);
      }
      if (r.keyType !== undefined && r.keyType !== 'ECDSAKeys' && type === 'signedBy') {
        bad(r, `${where}: keyType ${JSON.stringify(r.keyType)} is not supported (berth verifies cosign-format ECDSA P-256 signatures; drop keyType or use "ECDSAKeys")`);
      }
      const paths: unknown[] = r.keyPaths !== undefined ? (Array.isArray(r.keyPaths) ? r.keyPaths : [r.keyPaths]) : r.keyPath !== undefined ? [r.keyPath] : [];
      if (!paths.length) bad(r, `${where}: ${type} needs "keyPath" (a public key file) or "keyPaths"`);
      const keys = paths.map((p) => {
        if (typeof p !== 'string' || !p) return bad(r, `${where}: a key path must be a non-empty string`);
        const full = path.resolve(baseDir, p);
        let pem: Buffer;
        try {
          pem = readKey(full);
        } catch (e) {
          return bad(r, `${where}: cannot read key ${full}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
        }
        try {
          return { name: full, key: loadPublicKey(pem, full) };
        } catch (e) {
          return bad(r, `${where}: ${(e as Error).message}`);
        }
      });
      return { type: 'signedBy', keys };
    }
    return bad(r, `${where}: unknown requirement type ${JSON.stringify(type)} (use "reject", "insecureAcceptAnything" or "signedBy")`);
  };

  const def = requirements(value.default, 'default');
  const scopes = new Map<string, Requirement[]>();
  if (value.transports !== undefined) {
    if (!isObject(value.transports)) bad(value, '"transports" must be an object like {"docker": {"SCOPE": [...]}}');
    const transports = value.transports as Record<string, unknown>;
    for (const [name, scoped] of Object.entries(transports)) {
      if (name !== 'docker') continue; // other transports (containers-policy.json has several) do not reach berth
      if (!isObject(scoped)) bad(transports, '"transports.docker" must be an object mapping scopes to requirement lists');
      for (const [scope, reqs] of Object.entries(scoped as Record<string, unknown>)) {
        if (!validScope(scope)) bad(scoped as object, `transports.docker: invalid scope "${scope}" (use host[:port], host/namespace, host/repository, host/repository:tag or *.domain)`);
        scopes.set(scope, requirements(reqs, `transports.docker["${scope}"]`));
      }
    }
  }
  return { default: def, scopes, source };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validScope(scope: string): boolean {
  if (scope.startsWith('*.')) return /^\*\.[a-z0-9.-]+$/i.test(scope);
  return /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})?$/i.test(scope) && !scope.endsWith('/');
}

/** The scopes that could match `ref`, most specific first. */
export function candidateScopes(ref: Reference): string[] {
  const name = normalizedName(ref);
  const out: string[] = [];
  if (ref.digest) out.push(`${name}@${ref.digest}`);
  if (ref.tag) out.push(`${name}:${ref.tag}`);
  const parts = name.split('/');
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('/'));
  const host = ref.domain.replace(/:\d+$/, '');
  const labels = host.split('.');
  for (let n = 1; n < labels.length; n++) out.push('*.' + labels.slice(n).join('.'));
  return out;
}

/** The rule for `ref`: accepted, rejected, or wanting signatures from (each of) these key sets. */
export function decide(policy: TrustPolicy, ref: Reference): Decision {
  let scope = 'default';
  let reqs = policy.default;
  for (const s of candidateScopes(ref)) {
    const r = policy.scopes.get(s);
    if (r) {
      scope = s;
      reqs = r;
      break;
    }
  }
  return decideRequirements(reqs, scope);
}

export function decideRequirements(reqs: Requirement[], scope: string): Decision {
  if (reqs.some((r) => r.type === 'reject')) return { kind: 'reject', scope };
  const keySets = reqs.flatMap((r) => (r.type === 'signedBy' ? [r.keys] : []));
  return keySets.length ? { kind: 'signed', keySets, scope } : { kind: 'accept' };
}
