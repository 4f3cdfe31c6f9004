// The Dockerfile parser (the frontend): parser directives, comments, line continuations with the escape
// character, heredocs, JSON and shell forms, instruction flags. Our own rather than a library: the
// available ones (dockerfile-ast) are editor ASTs without BuildKit's heredoc and flag rules, and errors
// must name the file, the line and the instruction the way `docker build` does.
import { InvalidParameter } from '../../lib/errors.js';

export const INSTRUCTIONS = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
] as const;
export type InstructionName = (typeof INSTRUCTIONS)[number];

export interface Heredoc {
  name: string;
  body: string;
  /** Unquoted delimiters expand variables in the body (when a shell runs it). */
  expand: boolean;
  chomp: boolean;
}

export interface Instruction {
  name: InstructionName;
  /** `--key=value` flags in front of the arguments (repeatable ones collect every value). */
  flags: Record<string, string[]>;
  /** The arguments as written (continuations joined), without the flags. */
  args: string;
  /** The exec (JSON array) form, when the arguments are one. */
  json?: string[];
  heredocs: Heredoc[];
  line: number;
  /** The instruction as written, for `Step N/M : …` and history. */
  original: string;
}

export interface Dockerfile {
  directives: Record<string, string>;
  escape: string;
  instructions: Instruction[];
}

export class DockerfileError extends InvalidParameter {
  constructor(file: string, line: number, message: string) {
    super(`failed to parse ${file}: line ${line}: ${message}`);
  }
}

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC_RE = /<<(-?)\s*(["']?)([a-zA-Z_][a-zA-Z0-9_]*)\2/g;
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const directives: Record<string, string> = {};
  let i = 0;
  // Parser directives: only at the very top, before any other line.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!.trim());
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (!['syntax', 'escape', 'check'].includes(key)) break;
    if (key in directives) throw new DockerfileError(file, i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2]!;
  }
  const escape = directives.escape ?? '\\';
  if (escape !== '\\' && escape !== '`') throw new DockerfileError(file, 1, `invalid escape token '${escape}' does not match ` + '` or \\');
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const startLine = i + 1;
    const raw = lines[i]!;
    i++;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    // Join continuation lines; comment lines inside a continuation are dropped, as Docker does.
    let text = trimmed;
    while (endsWithEscape(text, escape) && i <= lines.length) {
      text = text.slice(0, -1);
      let next: string | undefined;
      while (i < lines.length) {
        const l = lines[i++]!;
        if (l.trim().startsWith('#')) continue;
        next = l;
        break;
      }
      if (next === undefined) break;
      text += next.trimStart() === '' ? '' : next;
      text = text.trimEnd();
    }
    const m = /^(\S+)\s*(.*)$/s.exec(text)!;
    const name = m[1]!.toUpperCase() as InstructionName;
    if (!INSTRUCTIONS.includes(name)) throw new DockerfileError(file, startLine, `unknown instruction: ${m[1]}`);
    let rest = m[2]!;
    const flags: Record<string, string[]> = {};
    for (;;) {
      const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=((?:"[^"]*"|\S)*))?(\s+|$)/.exec(rest);
      if (!f || name === 'CMD' || name === 'ENTRYPOINT' || name === 'SHELL' || name === 'ENV' || name === 'LABEL' || name === 'ARG') break;
      (flags[f[1]!] ??= []).push((f[2] ?? 'true').replace(/^"(.*)"$/, '$1'));
      rest = rest.slice(f[0].length);
    }
    const heredocs: Heredoc[] = [];
    if (HEREDOC_INSTRUCTIONS.has(name) && !rest.trimStart().startsWith('[')) {
      for (const h of rest.matchAll(HEREDOC_RE)) {
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i++]!;
          const candidate = h[1] ? l.replace(/^\t+/, '') : l;
          if (candidate === h[3]) {
            closed = true;
            break;
          }
          body.push(candidate);
        }
        if (!closed) throw new DockerfileError(file, startLine, `unterminated heredoc: no line "${h[3]}" closes <<${h[1]}${h[3]}`);
        heredocs.push({ name: h[3]!, body: body.join('\n') + '\n', expand: !h[2], chomp: h[1] === '-' });
      }
    }
    const inst: Instruction = { name, flags, args: rest.trim(), heredocs, line: startLine, original: `${name} ${text.slice(m[1]!.length).trim()}` };
    const json = parseJsonForm(inst.args);
    if (json) inst.json = json;
    validate(inst, file);
    instructions.push(inst);
  }
  if (!instructions.length) throw new InvalidParameter(`the Dockerfile (${file}) cannot be empty`);
  if (instructions.find((x) => x.name !== 'ARG')?.name !== 'FROM') {
    const first = instructions.find((x) => x.name !== 'ARG')!;
    throw new DockerfileError(file, first.line, `no build stage in current context: the first instruction must be FROM (found ${first.name})`);
  }
  return { directives, escape, instructions };
}

function endsWithEscape(s: string, escape: string): boolean {
  return s.endsWith(escape);
}

/** `["a", "b"]`: the exec form; anything that is not a JSON array of strings is the shell form. */
function parseJsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(args) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // shell form after all (Docker falls back the same way)
  }
  return undefined;
}

const NEEDS_ARGS = new Set(['FROM', 'COPY', 'ADD', 'RUN', 'CMD', 'ENTRYPOINT', 'USER', 'WORKDIR', 'ENV', 'LABEL', 'EXPOSE', 'VOLUME', 'ARG', 'STOPSIGNAL', 'SHELL', 'ONBUILD', 'HEALTHCHECK', 'MAINTAINER']);

/** The flags each instruction takes (BuildKit's); anything else is refused with Docker's "Unknown flag". */
const FLAGS: Partial<Record<InstructionName, string[]>> = {
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

function validate(inst: Instruction, file: string): void {
  const fail = (msg: string) => {
    throw new DockerfileError(file, inst.line, msg);
  };
  for (const f of Object.keys(inst.flags)) if (!(FLAGS[inst.name] ?? []).includes(f)) fail(`Unknown flag: ${f}`);
  if (NEEDS_ARGS.has(inst.name) && !inst.args && !inst.heredocs.length) fail(`${inst.name} requires at least one argument`);
  switch (inst.name) {
    case 'COPY':
    case 'ADD': {
      const n = inst.json ? inst.json.length : inst.args.split(/\s+/).length;
      if (n < 2 && !inst.heredocs.length) fail(`${inst.name} requires at least two arguments, but only one was provided. Destination could not be determined`);
      break;
    }
    case 'SHELL':
      if (!inst.json) fail('SHELL requires the arguments to be in JSON form');
      break;
    case 'ONBUILD': {
      const inner = inst.args.split(/\s+/)[0]!.toUpperCase();
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner)) fail(`${inner} isn't allowed as an ONBUILD trigger`);
      break;
    }
    case 'HEALTHCHECK': {
      const kind = inst.args.split(/\s+/)[0]!.toUpperCase();
      if (kind !== 'NONE' && kind !== 'CMD') fail(`Unknown type "${kind}" in HEALTHCHECK (try CMD)`);
      break;
    }
  }
}

// ---- variable expansion (Docker's shell-word rules for ENV, ARG, COPY, FROM, …) ----

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
