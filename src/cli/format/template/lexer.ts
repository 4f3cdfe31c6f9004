// Lexer for Go text/template syntax, following text/template/parse/lex.go:
// text between actions, "{{- " / " -}}" trim markers, comments, and the tokens inside actions.

export type TokenKind =
  | 'text'
  | 'leftDelim'
  | 'rightDelim'
  | 'space'
  | 'field'
  | 'variable'
  | 'identifier'
  | 'keyword'
  | 'string'
  | 'rawString'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'dot'
  | 'pipe'
  | 'leftParen'
  | 'rightParen'
  | 'declare'
  | 'assign'
  | 'comma'
  | 'eof';

export interface Token {
  kind: TokenKind;
  value: string;
  pos: number;
  line: number;
}

/** A syntax error before execution; the caller adds Docker's "template parsing error: " prefix. */
export class TemplateSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number,
  ) {
    super(`template: :${line}: ${detail}`);
  }
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);
const LEFT = '{{';
const RIGHT = '}}';

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{Nd}_]/u.test(c);

class Lexer {
  private pos = 0;
  private line = 1;
  private parenDepth = 0;
  readonly tokens: Token[] = [];

  constructor(private readonly input: string) {}

  run(): Token[] {
    while (this.pos < this.input.length) this.lexText();
    this.emit('eof', '', this.pos);
    return this.tokens;
  }

  private emit(kind: TokenKind, value: string, pos: number): void {
    this.tokens.push({ kind, value, pos, line: this.lineAt(pos) });
  }

  private lineAt(pos: number): number {
    let line = 1;
    for (let i = 0; i < pos && i < this.input.length; i++) if (this.input[i] === '\n') line++;
    return line;
  }

  private fail(msg: string): never {
    throw new TemplateSyntaxError(msg, this.lineAt(this.pos));
  }

  private lexText(): void {
    const start = this.pos;
    const at = this.input.indexOf(LEFT, start);
    if (at < 0) {
      this.emit('text', this.input.slice(start), start);
      this.pos = this.input.length;
      return;
    }
    const trimLeft = this.input[at + 2] === '-' && isSpace(this.input[at + 3]);
    let text = this.input.slice(start, at);
    if (trimLeft) text = text.replace(/[ \t\r\n]+$/, '');
    if (text) this.emit('text', text, start);
    this.pos = at;
    this.lexLeftDelim(trimLeft);
  }

  private lexLeftDelim(trim: boolean): void {
    const delimPos = this.pos;
    this.pos += LEFT.length + (trim ? 2 : 0);
    if (this.input.startsWith('/*', this.pos)) {
      this.lexComment();
      return;
    }
    this.emit('leftDelim', LEFT, delimPos);
    this.parenDepth = 0;
    this.lexInsideAction();
  }

  private lexComment(): void {
    const end = this.input.indexOf('*/', this.pos + 2);
    if (end < 0) this.fail('unclosed comment');
    this.pos = end + 2;
    const trim = this.atRightTrim();
    if (!trim && !this.input.startsWith(RIGHT, this.pos)) this.fail('comment ends before closing delimiter');
    this.pos += RIGHT.length + (trim ? 2 : 0);
    if (trim) this.skipLeadingSpace();
  }

  private atRightTrim(): boolean {
    const s = this.input;
    return isSpace(s[this.pos]) && s[this.pos + 1] === '-' && s.startsWith(RIGHT, this.pos + 2);
  }

  private skipLeadingSpace(): void {
    while (isSpace(this.input[this.pos])) this.pos++;
  }

  private lexInsideAction(): void {
    for (;;) {
      const trim = this.atRightTrim();
      if (trim || this.input.startsWith(RIGHT, this.pos)) {
        if (this.parenDepth > 0) this.fail('unclosed left paren');
        if (trim) this.pos += 2;
        this.emit('rightDelim', RIGHT, this.pos);
        this.pos += RIGHT.length;
        if (trim) this.skipLeadingSpace();
        return;
      }
      this.lexActionToken();
    }
  }

  private lexActionToken(): void {
    const c = this.input[this.pos];
    const start = this.pos;
    if (c === undefined) this.fail('unclosed action');
    if (isSpace(c)) {
      while (isSpace(this.input[this.pos]) && !this.atRightTrim()) this.pos++;
      this.emit('space', this.input.slice(start, this.pos), start);
      return;
    }
    const single: Record<string, TokenKind> = { '|': 'pipe', ',': 'comma', '=': 'assign' };
    if (single[c]) {
      this.pos++;
      this.emit(single[c], c, start);
      return;
    }
    if (c === ':') return this.lexDeclare();
    if (c === '"') return this.lexQuote();
    if (c === '`') return this.lexRawQuote();
    if (c === "'") return this.lexChar();
    if (c === '$') return this.lexVariable();
    if (c === '.') return this.lexDotOrField();
    if (c === '+' || c === '-' || (c >= '0' && c <= '9')) return this.lexNumber();
    if (isAlnum(c)) return this.lexIdentifier();
    if (c === '(' || c === ')') return this.lexParen(c);
    const cp = c.codePointAt(0) ?? 0;
    this.fail(`unrecognized character in action: U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`);
  }

  private lexDeclare(): void {
    if (this.input[this.pos + 1] !== '=') this.fail('expected :=');
    this.emit('declare', ':=', this.pos);
    this.pos += 2;
  }

  private lexParen(c: string): void {
    if (c === '(') this.parenDepth++;
    else if (--this.parenDepth < 0) this.fail('unexpected right paren');
    this.emit(c === '(' ? 'leftParen' : 'rightParen', c, this.pos++);
  }

  private lexQuote(): void {
    const start = this.pos++;
    for (;;) {
      const c = this.input[this.pos++];
      if (c === '\\') {
        if (this.input[this.pos] === undefined || this.input[this.pos] === '\n') break;
        this.pos++;
      } else if (c === undefined || c === '\n') {
        this.pos = start;
        this.fail('unterminated quoted string');
      } else if (c === '"') {
        this.emit('string', this.input.slice(start, this.pos), start);
        return;
      }
    }
    this.fail('unterminated quoted string');
  }

  private lexRawQuote(): void {
    const end = this.input.indexOf('`', this.pos + 1);
    if (end < 0) this.fail('unterminated raw quoted string');
    this.emit('rawString', this.input.slice(this.pos, end + 1), this.pos);
    this.pos = end + 1;
  }

  private lexChar(): void {
    const start = this.pos++;
    for (;;) {
      const c = this.input[this.pos++];
      if (c === '\\') this.pos++;
      else if (c === undefined || c === '\n') this.fail('unterminated character constant');
      else if (c === "'") break;
    }
    this.emit('char', this.input.slice(start, this.pos), start);
  }

  private scanAlnum(): void {
    while (isAlnum(this.input[this.pos])) this.pos++;
  }

  private checkTerminator(): void {
    const c = this.input[this.pos];
    if (c === undefined || isSpace(c) || '.,|:()='.includes(c) || this.input.startsWith(RIGHT, this.pos)) return;
    this.fail(`bad character U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')} '${c}'`);
  }

  private lexVariable(): void {
    const start = this.pos++;
    this.scanAlnum();
    this.checkTerminator();
    this.emit('variable', this.input.slice(start, this.pos), start);
  }

  private lexDotOrField(): void {
    const next = this.input[this.pos + 1];
    if (next !== undefined && next >= '0' && next <= '9') return this.lexNumber();
    const start = this.pos++;
    this.scanAlnum();
    if (this.pos === start + 1) {
      this.emit('dot', '.', start);
      return;
    }
    this.checkTerminator();
    this.emit('field', this.input.slice(start, this.pos), start);
  }

  private lexNumber(): void {
    const start = this.pos;
    if (this.input[this.pos] === '+' || this.input[this.pos] === '-') this.pos++;
    for (;;) {
      const c = this.input[this.pos];
      const prev = this.input[this.pos - 1];
      if (c !== undefined && /[0-9A-Za-z_.]/.test(c)) this.pos++;
      else if ((c === '+' || c === '-') && /[eEpP]/.test(prev ?? '') && !/^0[xX][0-9a-fA-F_]*$/.test(this.input.slice(start, this.pos).replace(/^[+-]/, '')))
        this.pos++;
      else break;
    }
    const text = this.input.slice(start, this.pos);
    if (parseNumberLiteral(text) === undefined) this.fail(`bad number syntax: "${text}"`);
    this.emit('number', text, start);
  }

  private lexIdentifier(): void {
    const start = this.pos;
    this.scanAlnum();
    this.checkTerminator();
    const word = this.input.slice(start, this.pos);
    if (word === 'true' || word === 'false') this.emit('bool', word, start);
    else if (word === 'nil') this.emit('nil', word, start);
    else if (KEYWORDS.has(word)) this.emit('keyword', word, start);
    else this.emit('identifier', word, start);
  }
}

export function lex(input: string): Token[] {
  return new Lexer(input).run();
}

export interface NumberLiteral {
  value: number;
  isInt: boolean;
}

/** Go number constant syntax: decimal, 0x/0o/0b/leading-0 octal integers, floats with exponent, "_" separators. */
export function parseNumberLiteral(text: string): NumberLiteral | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (/(^_|_$|__)/.test(body) || /[._]_|_[._]/.test(body)) return undefined;
  const digits = body.replace(/_/g, '');
  const int = parseGoInteger(digits);
  if (int !== undefined) return { value: sign * int, isInt: true };
  if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(digits)) return { value: sign * Number(digits), isInt: false };
  if (/^0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+$/.test(digits)) return { value: sign * hexFloat(digits), isInt: false };
  return undefined;
}

function parseGoInteger(d: string): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(d)) return parseInt(d.slice(2), 16);
  if (/^0[bB][01]+$/.test(d)) return parseInt(d.slice(2), 2);
  if (/^0[oO]?[0-7]+$/.test(d)) return parseInt(d.replace(/^0[oO]?/, ''), 8);
  if (/^(0|[1-9]\d*)$/.test(d)) return Number(d);
  return undefined;
}

function hexFloat(d: string): number {
  const [mant, exp] = d.slice(2).split(/[pP]/);
  const [ip, fp = ''] = (mant ?? '').split('.');
  const m = parseInt((ip ?? '') + fp || '0', 16) / 16 ** fp.length;
  return m * 2 ** Number(exp);
}
