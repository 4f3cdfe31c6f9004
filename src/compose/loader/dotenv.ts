// The .env format as compose-go's dotenv reads it (the files of --env-file, a project's .env, a
// service's env_file): KEY=VALUE lines, `export KEY=...`, `KEY: value`, comments (whole line, or " #"
// after an unquoted value), single quotes (literal), double quotes (escapes \n \t \" \\ \$..., may span
// lines), variables interpolated in unquoted and double-quoted values, a bare KEY taking its value from
// the environment, a UTF-8 BOM skipped.
import { substitute, type Lookup } from './template.js';

export class DotenvError extends Error {}

/**
 * Parses `src` into `out` (later keys override). `lookup` resolves variables first (the environment
 * wins), then the keys read so far.
 */
export function parseDotenv(src: string, out: Record<string, string>, lookup: Lookup = () => undefined): void {
  new Parser(src.replace(/^\uFEFF/, ''), out, lookup).parse();
}

const isSpace = (c: string): boolean => c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === ' ' || c === '\u0085' || c === '\u00a0';
const isUnicodeSpace = (c: string): boolean => /\s/u.test(c);

class Parser {
  private line = 1;
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly out: Record<string, string>,
    private readonly lookup: Lookup,
  ) {}

  parse(): void {
    for (;;) {
      if (!this.statementStart()) return;
      const { key, inherited } = this.keyName();
      if (key.includes(' ')) throw new DotenvError(`line ${this.line}: key cannot contain a space`);
      if (inherited) {
        const v = this.lookup(key);
        if (v !== undefined) this.out[key] = v;
        continue;
      }
      this.out[key] = this.value();
    }
  }

  /** Skips blank space and comment lines; false at the end. */
  private statementStart(): boolean {
    for (;;) {
      while (this.pos < this.src.length && isUnicodeSpace(this.src[this.pos]!)) {
        if (this.src[this.pos] === '\n') this.line++;
        this.pos++;
      }
      if (this.pos >= this.src.length) return false;
      if (this.src[this.pos] !== '#') return true;
      const nl = this.src.indexOf('\n', this.pos);
      if (nl < 0) return false;
      this.pos = nl;
    }
  }

  private keyName(): { key: string; inherited: boolean } {
    let rest = this.src.slice(this.pos);
    const exp = /^export\s+/.exec(rest);
    if (exp) {
      let i = 'export'.length;
      while (i < rest.length && isSpace(rest[i]!)) i++;
      this.pos += i;
      rest = rest.slice(i);
    }
    let end = -1;
    let inherited = false;
    for (let i = 0; i < rest.length; i++) {
      const c = rest[i]!;
      if (isSpace(c)) continue;
      if (c === '=' || c === ':' || c === '\n') {
        end = i;
        inherited = c === '\n';
        break;
      }
      if (c === '_' || c === '.' || c === '-' || c === '[' || c === ']' || /[\p{L}\p{N}]/u.test(c)) continue;
      throw new DotenvError(`line ${this.line}: unexpected character ${JSON.stringify(c)} in variable name ${JSON.stringify(rest.split('\n')[0])}`);
    }
    if (end < 0) {
      // A last line with a bare key and no newline: inherited too.
      end = rest.length;
      inherited = true;
    }
    const key = rest.slice(0, end).replace(/\s+$/u, '');
    if (inherited && !key.includes(' ')) this.line++;
    this.pos += Math.min(end + 1, rest.length);
    while (this.pos < this.src.length && isSpace(this.src[this.pos]!)) this.pos++;
    return { key, inherited };
  }

  private value(): string {
    const src = this.src;
    const quote = src[this.pos];
    if (quote !== '"' && quote !== "'") {
      const nl = src.indexOf('\n', this.pos);
      let value = nl < 0 ? src.slice(this.pos) : src.slice(this.pos, nl);
      this.pos = nl < 0 ? src.length : nl + 1;
      this.line++;
      const comment = value.indexOf(' #');
      if (comment >= 0) value = value.slice(0, comment);
      return this.expand(value.replace(/\s+$/u, ''));
    }
    let chars = '';
    let escaped = false;
    for (let i = this.pos + 1; i < src.length; i++) {
      const c = src[i]!;
      if (c === '\n') this.line++;
      if (c !== quote) {
        if (!escaped && c === '\\') {
          escaped = true;
          continue;
        }
        if (escaped) {
          escaped = false;
          chars += '\\';
        }
        chars += c;
        continue;
      }
      if (escaped) {
        escaped = false;
        chars += c;
        continue;
      }
      this.pos = i + 1;
      return quote === '"' ? this.expand(expandEscapes(chars)) : chars;
    }
    const nl = src.indexOf('\n', this.pos);
    throw new DotenvError(`line ${this.line}: unterminated quoted value ${nl < 0 ? src.slice(this.pos) : src.slice(this.pos, nl)}`);
  }

  private expand(value: string): string {
    return substitute(value, (k) => this.lookup(k) ?? (Object.hasOwn(this.out, k) ? this.out[k] : undefined));
  }
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', c: '\\c', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\' };

/** Shell escapes inside double quotes; `\$` becomes `$$` so that it stays a literal dollar. */
function expandEscapes(s: string): string {
  return s.replace(/\\(?:[abcfnrtv$"\\]|0\d{0,3})/g, (m) => {
    const c = m[1]!;
    if (c === '$') return '$$';
    if (c === '0') {
      const digits = m.slice(1);
      // Go reads "\0NNN" as the octal escape "\NNN": exactly three octal digits, else left as is.
      const oct = digits.slice(1);
      if (oct.length === 3 && /^[0-7]{3}$/.test(oct) && parseInt(oct, 8) < 256) return String.fromCharCode(parseInt(oct, 8));
      return m;
    }
    return ESCAPES[c] ?? m;
  });
}
