// The variables a compose model uses, as `config --variables` lists them (compose-go's
// template.ExtractVariables): every `$NAME` and `${NAME...}` of every string value, with what follows
// the name: `:?`/`?` (required), `:-`/`-` (a default), `:+`/`+` (an alternate value); the variables
// inside a default or alternate value too. `$$` is a literal dollar sign, not a variable.

export interface Variable {
  name: string;
  defaultValue: string;
  presenceValue: string;
  required: boolean;
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** The variables of a value (strings anywhere inside objects and arrays), by name; a later use wins. */
export function extractVariables(value: unknown, into: Map<string, Variable> = new Map()): Map<string, Variable> {
  if (typeof value === 'string') for (const v of fromString(value)) into.set(v.name, v);
  else if (Array.isArray(value)) value.forEach((e) => extractVariables(e, into));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((e) => extractVariables(e, into));
  return into;
}

function fromString(s: string): Variable[] {
  const out: Variable[] = [];
  for (let i = s.indexOf('$'); i >= 0 && i < s.length; i = s.indexOf('$', i)) {
    const next = s[i + 1];
    if (next === '$') {
      i += 2;
      continue;
    }
    if (next === '{') {
      const close = closingBrace(s, i + 2);
      if (close < 0) break;
      out.push(...braced(s.slice(i + 2, close)));
      i = close + 1;
      continue;
    }
    const m = NAME.exec(s.slice(i + 1));
    if (m) out.push({ name: m[0], defaultValue: '', presenceValue: '', required: false });
    i += 1 + (m ? m[0].length : 0);
  }
  return out;
}

/** The index of the `}` closing a `${` whose content starts at `from` (nested `${...}` skipped). */
function closingBrace(s: string, from: number): number {
  let depth = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** NAME, NAME:-default, NAME?err...: the variable, then those of its default or alternate value. */
function braced(content: string): Variable[] {
  const m = NAME.exec(content);
  if (!m) return [];
  const v: Variable = { name: m[0], defaultValue: '', presenceValue: '', required: false };
  const rest = content.slice(m[0].length);
  if (rest.startsWith(':?') || rest.startsWith('?')) v.required = true;
  else if (rest.startsWith(':-')) v.defaultValue = rest.slice(2);
  else if (rest.startsWith('-')) v.defaultValue = rest.slice(1);
  else if (rest.startsWith(':+')) v.presenceValue = rest.slice(2);
  else if (rest.startsWith('+')) v.presenceValue = rest.slice(1);
  return [v, ...fromString(v.defaultValue), ...fromString(v.presenceValue)];
}
