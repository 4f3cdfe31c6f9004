// The Dockerfile parser (the frontend): parser directives, comments, line continuations with the escape
// character, heredocs, JSON and shell forms, instruction flags. Our own rather than a library: the
// available ones (dockerfile-ast) are editor ASTs without BuildKit's heredoc and flag rules, and errors
// must name the file, the line and the instruction the way `docker build` does.
import { InvalidParameter } from '../../../lib/errors.js';

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
