// Docker's shell-word rules (the Dockerfile's variable expansion): `$VAR`, `${VAR:-word}`, quotes and the
// escape character, and `key=value` lists. The builder's frontend expands ENV, ARG, COPY, FROM… with it, and
// `docker commit --change` / `import --change` (engine/images/changes.ts) read the same instruction syntax.
import { InvalidParameter } from './errors.js';

export type Env = Map<string, string>;

/**
 * Expand `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`,
 * `${VAR#pat}`, `${VAR%pat}` and process quotes and escapes; `words` splits on unquoted whitespace.
 */
export function expandWords(input: string, env: Env, escape = '\\'): string[] {
  return lex(input, env, escape, true);
}

/** The whole string as one word (whitespace kept), quotes removed and variables expanded. */
export function expandString(input: string, env: Env, escape = '\\'): string {
  return lex(input, env, escape, false).join('');
}

/** Docker's shell-word lexer: quotes, escapes and $-expansion; `split` cuts words at unquoted whitespace. */
function lex(s: string, env: Env, escape: string, split: boolean): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const push = () => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === escape && i + 1 < s.length) {
      cur += s[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (split) push();
      else cur += c;
      i++;
    } else if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new InvalidParameter(`unexpected end of statement while looking for matching single-quote in: ${s}`);
      cur += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === escape && i + 1 < s.length && ['"', escape, '$'].includes(s[i + 1]!)) {
          cur += s[i + 1];
          i += 2;
        } else if (s[i] === '$') {
          const [val, next] = expandVar(s, i, env, escape);
          cur += val;
          i = next;
        } else cur += s[i++];
      }
      if (i >= s.length) throw new InvalidParameter(`unexpected end of statement while looking for matching double-quote in: ${s}`);
      i++;
    } else if (c === '$') {
      const [val, next] = expandVar(s, i, env, escape);
      cur += val;
      inWord = inWord || val !== '' || next > i + 1;
      i = next;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (split) push();
  else words.push(cur);
  return words;
}

function expandVar(s: string, i: number, env: Env, escape: string): [string, number] {
  if (s[i + 1] === '{') {
    const end = matchingBrace(s, i + 1);
    if (end < 0) throw new InvalidParameter(`missing '}' in: ${s}`);
    const body = s.slice(i + 2, end);
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:(:?[-+?])(.*)|(##?|%%?)(.*))?$/s.exec(body);
    if (!m) throw new InvalidParameter(`failed to process "${s}": bad substitution`);
    const name = m[1]!;
    const has = env.has(name);
    const val = env.get(name) ?? '';
    const word = () => expandString(m[3] ?? '', env, escape);
    let out = val;
    switch (m[2]) {
      case ':-': out = has && val !== '' ? val : word(); break;
      case '-': out = has ? val : word(); break;
      case ':+': out = has && val !== '' ? word() : ''; break;
      case '+': out = has ? word() : ''; break;
      case ':?':
      case '?':
        if (!has || (m[2] === ':?' && val === '')) throw new InvalidParameter(`failed to process "${s}": ${name}: ${word() || 'is not allowed to be unset'}`);
        break;
    }
    if (m[4]) out = trimPattern(val, m[4], m[5] ?? '');
    return [out, end + 1];
  }
  const m = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i + 1));
  if (!m) return ['$', i + 1];
  return [env.get(m[0]) ?? '', i + 1 + m[0].length];
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

/** ${VAR#pat} ${VAR##pat} ${VAR%pat} ${VAR%%pat} with shell globs (* and ?). */
function trimPattern(val: string, op: string, pat: string): string {
  const re = pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  const greedy = op.length === 2;
  if (op[0] === '#') {
    const m = new RegExp(`^(${greedy ? re : re.replace(/\.\*/g, '.*?')})`, 's').exec(val);
    return m ? val.slice(m[1]!.length) : val;
  }
  for (let k = greedy ? 0 : val.length; greedy ? k <= val.length : k >= 0; k += greedy ? 1 : -1) {
    if (new RegExp(`^${re}$`, 's').test(val.slice(k))) return val.slice(0, k);
  }
  return val;
}

/** `key=value key2="v 2"` (or the legacy `key value`) → pairs, expanded. */
export function parseKeyValues(args: string, env: Env, escape: string, what: string, legacy = true): [string, string][] {
  const words = splitRaw(args, escape);
  if (words.length && !words[0]!.includes('=')) {
    if (!legacy) return words.map((w) => [expandString(w, env, escape), ''] as [string, string]);
    const [k, ...rest] = args.trim().split(/\s+/);
    if (!rest.length) throw new InvalidParameter(`${what} must have two arguments`);
    return [[k!, expandString(args.trim().slice(k!.length).trim(), env, escape)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidParameter(`${what} names can not be blank or must be key=value: ${w}`);
    return [expandString(w.slice(0, eq), env, escape), expandWords(w.slice(eq + 1), env, escape).join(' ')] as [string, string];
  });
}

/** Split on unquoted whitespace without expanding (quotes and escapes kept for later expansion). */
export function splitRaw(s: string, escape: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === escape && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/** Variables substituted in text that is not split into words (a COPY heredoc with an unquoted delimiter). */
export function substituteVars(text: string, env: Env, escape = '\\'): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === escape && text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (text[i] === '$') {
      const [val, next] = expandVar(text, i, env, escape);
      out += val;
      i = next;
    } else out += text[i++];
  }
  return out;
}
