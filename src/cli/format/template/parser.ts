// Recursive-descent parser over the lexer's tokens, following text/template/parse/parse.go,
// including its error wording (Docker prints those after "template parsing error: ").

import type { Arg, Command, Node, Pipe } from './ast.js';
import { lex, parseNumberLiteral, TemplateSyntaxError, type Token } from './lexer.js';

type Terminator = { type: 'end'; pos: number } | { type: 'else'; pos: number; chained: 'if' | 'with' | undefined };
type Parsed = Node | Terminator;

const OPERAND_START = new Set(['bool', 'char', 'dot', 'field', 'identifier', 'number', 'nil', 'rawString', 'string', 'variable', 'leftParen']);

export class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;

  constructor(
    text: string,
    private readonly hasFunction: (name: string) => boolean,
  ) {
    this.tokens = lex(text);
  }

  parse(): Node[] {
    const root: Node[] = [];
    while (this.peek().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end') this.fail('unexpected {{end}}');
      if (n.type === 'else') this.fail('unexpected {{else}}');
      root.push(n);
    }
    return root;
  }

  // ---- token cursor

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  private peekNonSpace(): Token {
    while (this.peek().kind === 'space') this.i++;
    return this.peek();
  }
  private nextNonSpace(): Token {
    this.peekNonSpace();
    return this.next();
  }
  private fail(msg: string, tok: Token = this.tokens[Math.max(0, this.i - 1)] as Token): never {
    throw new TemplateSyntaxError(msg, tok.line);
  }
  private unexpected(t: Token, context: string): never {
    this.fail(`unexpected ${tokenString(t)} in ${context}`, t);
  }
  private expect(kind: Token['kind'], context: string): Token {
    const t = this.nextNonSpace();
    if (t.kind !== kind) this.unexpected(t, context);
    return t;
  }

  // ---- lists and actions

  private textOrAction(): Parsed {
    const t = this.nextNonSpace();
    if (t.kind === 'text') return { type: 'text', text: t.value };
    if (t.kind === 'leftDelim') return this.action();
    this.unexpected(t, 'input');
  }

  private itemList(): { list: Node[]; next: Terminator } {
    const list: Node[] = [];
    while (this.peekNonSpace().kind !== 'eof') {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return { list, next: n };
      list.push(n);
    }
    this.fail('unexpected EOF');
  }

  private action(): Parsed {
    const t = this.peekNonSpace();
    if (t.kind === 'keyword') {
      this.next();
      switch (t.value) {
        case 'if':
        case 'with':
        case 'range':
          return this.control(t.value, t);
        case 'end':
          this.expect('rightDelim', 'end');
          return { type: 'end', pos: t.pos };
        case 'else':
          return this.elseControl(t);
        case 'break':
        case 'continue':
          if (this.rangeDepth === 0) this.fail(`{{${t.value}}} outside {{range}}`, t);
          this.expect('rightDelim', t.value);
          return { type: t.value, pos: t.pos };
        default:
          this.fail(`{{${t.value}}} is not supported`, t);
      }
    }
    const pipe = this.pipeline('command', 'rightDelim');
    return { type: 'action', pos: pipe.pos, pipe };
  }

  private elseControl(t: Token): Terminator {
    const peek = this.peekNonSpace();
    // "else if" / "else with" chain: leave the keyword for control() to consume.
    if (peek.kind === 'keyword' && (peek.value === 'if' || peek.value === 'with')) {
      return { type: 'else', pos: t.pos, chained: peek.value };
    }
    this.expect('rightDelim', 'else');
    return { type: 'else', pos: t.pos, chained: undefined };
  }

  private control(kind: 'if' | 'with' | 'range', t: Token): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind, 'rightDelim');
    if (kind === 'range') this.rangeDepth++;
    const { list, next } = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | undefined;
    if (next.type === 'else') {
      if (next.chained && next.chained === kind) {
        const kw = this.nextNonSpace();
        elseList = [this.control(kind, kw)];
      } else {
        const rest = this.itemList();
        if (rest.next.type !== 'end') this.fail('expected end; found {{else}}');
        elseList = rest.list;
      }
    }
    this.vars.length = mark;
    return { type: kind, pos: t.pos, pipe, list, elseList };
  }

  // ---- pipelines and commands

  private pipeline(context: string, end: 'rightDelim' | 'rightParen'): Pipe {
    const pipe: Pipe = { pos: this.peekNonSpace().pos, decl: [], isAssign: false, cmds: [] };
    this.declarations(pipe, context);
    for (;;) {
      const t = this.nextNonSpace();
      if (t.kind === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      if (!OPERAND_START.has(t.kind)) this.unexpected(t, context);
      this.i--;
      pipe.cmds.push(this.command());
    }
  }

  private declarations(pipe: Pipe, context: string): void {
    for (;;) {
      const start = this.i;
      const v = this.peekNonSpace();
      if (v.kind !== 'variable') return;
      this.next();
      const after = this.peekNonSpace();
      if (after.kind === 'declare' || after.kind === 'assign') {
        this.next();
        pipe.isAssign = after.kind === 'assign';
        if (pipe.isAssign && !this.vars.includes(v.value)) this.fail(`undefined variable "${v.value}"`, v);
        pipe.decl.push(v.value);
        if (!pipe.isAssign) for (const d of pipe.decl) this.vars.push(d);
        return;
      }
      if (after.kind === 'comma') {
        this.next();
        pipe.decl.push(v.value);
        if (context === 'range' && pipe.decl.length < 2) {
          const k = this.peekNonSpace().kind;
          if (k === 'variable') continue;
          this.fail('range can only initialize variables');
        }
        this.fail(`too many declarations in ${context}`);
      }
      // Not a declaration: the variable starts the first command.
      pipe.decl = [];
      this.i = start;
      return;
    }
  }

  private checkPipeline(pipe: Pipe, context: string): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const k = c.args[0]?.type;
      if (k === 'bool' || k === 'dot' || k === 'nil' || k === 'number' || k === 'string') {
        this.fail(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): Command {
    const cmd: Command = { pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.kind === 'space') continue;
      if (t.kind === 'rightDelim' || t.kind === 'rightParen') this.i--;
      else if (t.kind !== 'pipe') this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node || this.peek().kind !== 'field') return node;
    const idents: string[] = [];
    while (this.peek().kind === 'field') idents.push(this.next().value.slice(1));
    switch (node.type) {
      case 'field':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'variable':
        return { ...node, idents: [...node.idents, ...idents] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.fail(`unexpected . after term "${argStringShort(node)}"`);
        break;
      default:
        return { type: 'chain', pos: node.pos, node, idents };
    }
  }

  private term(): Arg | undefined {
    const t = this.nextNonSpace();
    const pos = t.pos;
    switch (t.kind) {
      case 'identifier':
        if (!this.hasFunction(t.value)) this.fail(`function "${t.value}" not defined`, t);
        return { type: 'identifier', pos, name: t.value };
      case 'dot':
        return { type: 'dot', pos };
      case 'nil':
        return { type: 'nil', pos };
      case 'variable':
        if (!this.vars.includes(t.value)) this.fail(`undefined variable "${t.value}"`, t);
        return { type: 'variable', pos, name: t.value, idents: [] };
      case 'field':
        return { type: 'field', pos, idents: [t.value.slice(1)] };
      case 'bool':
        return { type: 'bool', pos, value: t.value === 'true' };
      case 'number':
        return this.number(t);
      case 'char':
        return { type: 'number', pos, value: unquoteChar(t, this), isInt: true, text: t.value };
      case 'leftParen':
        return { type: 'pipe', pos, pipe: this.pipeline('parenthesized pipeline', 'rightParen') };
      case 'string':
        return { type: 'string', pos, value: unquote(t, this), text: t.value };
      case 'rawString':
        return { type: 'string', pos, value: t.value.slice(1, -1).replace(/\r/g, ''), text: t.value };
    }
    this.i--;
    return undefined;
  }

  private number(t: Token): Arg {
    const n = parseNumberLiteral(t.value);
    if (!n) this.fail(`illegal number syntax: "${t.value}"`, t);
    return { type: 'number', pos: t.pos, value: n.value, isInt: n.isInt, text: t.value };
  }

  /** Used by the unquote helpers to report with this parser's line. */
  syntax(msg: string, t: Token): never {
    this.fail(msg, t);
  }
}

function argStringShort(a: Arg): string {
  return 'text' in a ? a.text : a.type === 'bool' ? String(a.value) : a.type === 'nil' ? 'nil' : '.';
}

function tokenString(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'keyword') return `<${t.value}>`;
  if (t.kind === 'rightDelim' || t.kind === 'leftDelim') return `"${t.value}"`;
  const q = JSON.stringify(t.value);
  return t.value.length > 10 ? JSON.stringify(t.value.slice(0, 10)) + '...' : q;
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** Go's strconv.Unquote for interpreted string literals. */
function unquote(t: Token, p: Parser): string {
  return unescape(t.value.slice(1, -1), t, p, '"');
}

function unquoteChar(t: Token, p: Parser): number {
  const s = unescape(t.value.slice(1, -1), t, p, "'");
  const chars = Array.from(s);
  if (chars.length !== 1) p.syntax(`malformed character constant: ${t.value}`, t);
  return chars[0]?.codePointAt(0) ?? 0;
}

function unescape(body: string, t: Token, p: Parser, quote: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined && (e !== "'" || quote === "'") && (e !== '"' || quote === '"')) {
      out += simple;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) p.syntax('invalid syntax', t);
      const code = parseInt(hex, 16);
      out += e === 'x' ? String.fromCharCode(code) : String.fromCodePoint(code);
      i += n;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) p.syntax('invalid syntax', t);
      out += String.fromCharCode(parseInt(oct, 8));
      i += 2;
    } else {
      p.syntax('invalid syntax', t);
    }
  }
  return out;
}
