// Variable substitution in one string, as the compose specification defines it and compose-go's
// template package does it: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err},
// ${VAR:+alt}, ${VAR+alt}, defaults and messages themselves interpolated (nesting), $$ for a literal $.

/** Looks a variable up: its value, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

export class InvalidTemplateError extends Error {
  constructor(readonly template: string) {
    super(`Invalid template: ${JSON.stringify(template)}`);
  }
}

export class MissingRequiredError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(reason ? `required variable ${variable} is missing a value: ${reason}` : `required variable ${variable} is missing a value`);
  }
}

// $$ | $name | ${name[modifier...]} | ${<anything invalid>. The modifier's text runs greedily to the last
// "}" of the string; the replacement cuts it back at the brace that closes the opening one (below).
const PATTERN = /\$(?:(?<escaped>\$)|(?<named>[_a-z][_a-z0-9]*)|\{(?:(?<braced>[_a-z][_a-z0-9]*(?::?[-+?](?:.*))?)\}|(?<invalid>)))/gi;
const SINGLE = new RegExp(PATTERN.source, 'i');

export interface SubstituteOptions {
  /** Called for a variable that is not set (Compose warns and uses an empty string). */
  onUnset?: (name: string) => void;
}

export function substitute(template: string, lookup: Lookup, opts: SubstituteOptions = {}): string {
  if (!template.includes('$')) return template;
  let error: Error | undefined;
  const result = template.replace(PATTERN, (match) => {
    try {
      return replacement(match, lookup, opts);
    } catch (err) {
      if (err instanceof InvalidTemplateError && err.template === '') error ??= new InvalidTemplateError(template);
      else error ??= err as Error;
      return '';
    }
  });
  if (error) throw error;
  return result;
}

type Modifier = (substitution: string, lookup: Lookup, opts: SubstituteOptions) => string | undefined;

function replacement(match: string, lookup: Lookup, opts: SubstituteOptions): string {
  const modifier = modifierFor(match);
  const close = closingBrace(match);
  let rest = '';
  let substring = match;
  if (close > -1) {
    rest = match.slice(close + 1);
    substring = match.slice(0, close + 1);
  }
  const groups = SINGLE.exec(substring)?.groups ?? {};
  if (groups.escaped) return '$';
  const braced = !groups.named;
  const name = groups.named || groups.braced || '';
  if (!name) throw new InvalidTemplateError('');
  if (braced) {
    const value = modifier(name, lookup, opts);
    if (value !== undefined) return value + substitute(rest, lookup, opts);
  }
  const value = lookup(name);
  if (value === undefined) {
    opts.onUnset?.(name);
    return '';
  }
  return value;
}

/** The modifier that occurs first in the text (compose-go picks it this way). */
function modifierFor(text: string): Modifier {
  const table: [string, Modifier][] = [
    [':?', (s, l, o) => required(s, l, o, ':?', (v) => v !== '')],
    ['?', (s, l, o) => required(s, l, o, '?', () => true)],
    [':-', (s, l, o) => whenAbsent(s, l, o, ':-', true)],
    ['-', (s, l, o) => whenAbsent(s, l, o, '-', false)],
    [':+', (s, l, o) => whenPresent(s, l, o, ':+', true)],
    ['+', (s, l, o) => whenPresent(s, l, o, '+', false)],
  ];
  let best = table[0]!;
  let bestIndex = Infinity;
  for (const entry of table) {
    const i = text.indexOf(entry[0]);
    if (i >= 0 && i < bestIndex) {
      best = entry;
      bestIndex = i;
    }
  }
  return best[1];
}

/** Index of the "}" closing the first "{" (nested braces counted), -1 if none. */
function closingBrace(s: string): number {
  let open = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '}') {
      open--;
      if (open === 0) return i;
    }
    if (s[i] === '{') {
      open++;
      i++;
    }
  }
  return -1;
}

function partition(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

// ${VAR:-default} / ${VAR-default}
function whenAbsent(s: string, lookup: Lookup, opts: SubstituteOptions, sep: string, emptyToo: boolean): string | undefined {
  if (!s.includes(sep)) return undefined;
  const [name, fallback] = partition(s, sep);
  const value = lookup(name);
  if (value === undefined || (emptyToo && value === '')) return substitute(fallback, lookup, opts);
  return value;
}

// ${VAR:+alternative} / ${VAR+alternative}
function whenPresent(s: string, lookup: Lookup, opts: SubstituteOptions, sep: string, nonEmpty: boolean): string | undefined {
  if (!s.includes(sep)) return undefined;
  const [name, alternative] = partition(s, sep);
  const value = lookup(name);
  if (value !== undefined && (!nonEmpty || value !== '')) return substitute(alternative, lookup, opts);
  return value ?? '';
}

// ${VAR:?message} / ${VAR?message}
function required(s: string, lookup: Lookup, opts: SubstituteOptions, sep: string, valid: (v: string) => boolean): string | undefined {
  if (!s.includes(sep)) return undefined;
  const [name, message] = partition(s, sep);
  const value = lookup(name);
  if (value === undefined || !valid(value)) throw new MissingRequiredError(name, substitute(message, lookup, opts));
  return value;
}
