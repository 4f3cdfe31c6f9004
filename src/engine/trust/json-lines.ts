// A strict JSON parser that knows where things are: a syntax error names its line and column (Node's
// JSON.parse often names neither), and each object or array remembers the line it starts on, so a policy
// rule that is well-formed JSON but wrong can be reported at its line too.
import { InvalidParameter } from '../../lib/errors.js';

export interface Located {
  value: unknown;
  /** The line (1-based) each object or array starts on. */
  lineOf(node: object): number | undefined;
}

export class JsonSyntaxError extends InvalidParameter {
  constructor(
    readonly line: number,
    readonly column: number,
    what: string,
  ) {
    super(`line ${line}, column ${column}: ${what}`);
  }
}

export function parseJsonWithLines(text: string): Located {
  const lines = new WeakMap<object, number>();
  let i = 0;
  const where = (at: number) => {
    const before = text.slice(0, at);
    const line = (before.match(/\n/g)?.length ?? 0) + 1;
    return { line, column: at - before.lastIndexOf('\n') };
  };
  const fail = (what: string, at = i): never => {
    const { line, column } = where(at);
    throw new JsonSyntaxError(line, column, what);
  };
  const describe = () => (i >= text.length ? 'unexpected end of the file' : `unexpected ${JSON.stringify(text[i])}`);
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (c: string, context: string) => {
    ws();
    if (text[i] !== c) fail(`${describe()}, expected '${c}' ${context}`);
    i++;
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    while (true) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i]!;
      if (c === '"') break;
      if (c === '\n') fail('unterminated string (a line break inside a string)', start);
      if (c === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        if (e === undefined || !(e in map)) fail(`invalid escape \\${e ?? ''} in a string`);
        out += map[e!];
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
    i++;
    return out;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      const obj: Record<string, unknown> = {};
      lines.set(obj, where(i).line);
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      while (true) {
        ws();
        if (text[i] !== '"') fail(`${describe()}, expected a "key" in an object${text[i] === '}' ? ' (a trailing comma before it?)' : ''}`);
        const key = str();
        expect(':', `after the key "${key}"`);
        if (Object.prototype.hasOwnProperty.call(obj, key)) fail(`duplicate key "${key}"`);
        obj[key] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail(`${describe()}, expected ',' or '}' after the value of "${key}"`);
      }
    }
    if (c === '[') {
      const arr: unknown[] = [];
      lines.set(arr, where(i).line);
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      while (true) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail(`${describe()}, expected ',' or ']' in a list`);
      }
    }
    if (c === '"') return str();
    const lit = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (lit) {
      i += lit[0].length;
      return JSON.parse(lit[0]) as unknown;
    }
    return fail(`${describe()}, expected a value`);
  };
  const v = value();
  ws();
  if (i < text.length) fail(`${describe()} after the end of the document`);
  return { value: v, lineOf: (node) => lines.get(node) };
}
