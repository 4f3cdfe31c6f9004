// Decoding JSON the way dockerd's Go structs do (encoding/json), so a body berthd accepts is one dockerd
// accepts and a bad one gets the same words: `json: cannot unmarshal string into Go struct field
// HostConfig.HostConfig.Memory of type int64`. What Go allows, this allows too: null anywhere (the field
// stays unset; inside a list or a map it is the zero value), field names in any case, unknown fields.
// The result is the engine's type with no null in it, so nothing past the boundary needs `?? []`.

/** A Go type as encoding/json sees it; `name` is what Go's errors print (reflect.Type.String()). */
export type GoType =
  | { kind: 'string'; name: string }
  | { kind: 'int'; name: string; bits: number; signed: boolean }
  | { kind: 'float'; name: string }
  | { kind: 'bool'; name: string }
  /** strslice.StrSlice: a string or a list of strings; Go's errors name it `string`. */
  | { kind: 'strslice'; name: string }
  | { kind: 'slice'; name: string; elem: GoType }
  | { kind: 'array'; name: string; len: number; elem: GoType }
  | { kind: 'map'; name: string; elem: GoType }
  | { kind: 'struct'; name: string; fields: Record<string, GoType> }
  | { kind: 'any'; name: string }
  /** A pointer whose null matters inside a list or map (map[string]*string: build args taken from the environment). */
  | { kind: 'ptr'; name: string; elem: GoType };

export const str = (name = 'string'): GoType => ({ kind: 'string', name });
export const bool: GoType = { kind: 'bool', name: 'bool' };
export const int = (name: string, bits: number, signed: boolean): GoType => ({ kind: 'int', name, bits, signed });
export const int64 = int('int64', 64, true);
export const goInt = int('int', 64, true);
export const uint16 = int('uint16', 16, false);
export const uint32 = int('uint32', 32, false);
export const uint64 = int('uint64', 64, false);
export const float64: GoType = { kind: 'float', name: 'float64' };
export const duration = int('time.Duration', 64, true);
export const strslice: GoType = { kind: 'strslice', name: 'strslice.StrSlice' };
export const anyValue: GoType = { kind: 'any', name: 'interface {}' };
export const ptr = (elem: GoType): GoType => ({ kind: 'ptr', name: `*${elem.name}`, elem });
export const slice = (elem: GoType, name = `[]${elem.name}`): GoType => ({ kind: 'slice', name, elem });
export const array = (elem: GoType, len: number): GoType => ({ kind: 'array', name: `[${len}]${elem.name}`, len, elem });
export const map = (elem: GoType, name = `map[string]${elem.name}`): GoType => ({ kind: 'map', name, elem });
export const struct = (name: string, fields: Record<string, GoType>): GoType => ({ kind: 'struct', name, fields });
export const emptyStruct: GoType = struct('struct {}', {});
export const stringMap = map(str());
export const stringList = slice(str());

/** A JSON syntax or type error, worded as Go words it. */
export class GoJsonError extends Error {}

// ---------------------------------------------------------------- parsing (numbers keep their text)

class JsonNumber {
  constructor(readonly text: string) {}
}
class JsonObject {
  constructor(readonly entries: [string, JsonValue][]) {}
}
type JsonValue = null | boolean | string | JsonNumber | JsonObject | JsonValue[];

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return `'${JSON.stringify(c).slice(1, -1)}'`;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseDocument(): JsonValue {
    const v = this.value('looking for beginning of value');
    this.ws();
    if (this.i < this.s.length) throw new GoJsonError(`invalid character ${quoteChar(this.s[this.i]!)} after top-level value`);
    return v;
  }

  private ws(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i]!)) this.i++;
  }

  private peek(): string {
    this.ws();
    if (this.i >= this.s.length) throw new GoJsonError('unexpected EOF');
    return this.s[this.i]!;
  }

  private fail(context: string): never {
    throw new GoJsonError(`invalid character ${quoteChar(this.s[this.i]!)} ${context}`);
  }

  private value(context: string): JsonValue {
    const c = this.peek();
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (c !== word[0]) continue;
      for (let k = 1; k < word.length; k++) {
        if (this.i + k >= this.s.length) throw new GoJsonError('unexpected EOF');
        if (this.s[this.i + k] !== word[k]) {
          this.i += k;
          this.fail(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
        }
      }
      this.i += word.length;
      return v;
    }
    return this.fail(context);
  }

  private number(): JsonNumber {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m || m[0] === '-') {
      this.i++;
      if (this.i >= this.s.length) throw new GoJsonError('unexpected EOF');
      this.fail('in numeric literal');
    }
    this.i += m[0].length;
    return new JsonNumber(m[0]);
  }

  private string(): string {
    const start = this.i++;
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (c === '\\') this.i += 2;
      else if (c === '"') break;
      else if (c < ' ') this.fail('in string literal');
      else this.i++;
    }
    if (this.i >= this.s.length) throw new GoJsonError('unexpected EOF');
    this.i++;
    try {
      return JSON.parse(this.s.slice(start, this.i)) as string;
    } catch {
      throw new GoJsonError('invalid character in string escape code');
    }
  }

  private object(): JsonObject {
    this.i++;
    const entries: [string, JsonValue][] = [];
    if (this.peek() === '}') {
      this.i++;
      return new JsonObject(entries);
    }
    for (;;) {
      if (this.peek() !== '"') this.fail('looking for beginning of object key string');
      const key = this.string();
      if (this.peek() !== ':') this.fail('after object key');
      this.i++;
      entries.push([key, this.value('looking for beginning of value')]);
      const c = this.peek();
      this.i++;
      if (c === '}') return new JsonObject(entries);
      if (c !== ',') {
        this.i--;
        this.fail('after object key:value pair');
      }
    }
  }

  private array(): JsonValue[] {
    this.i++;
    const out: JsonValue[] = [];
    if (this.peek() === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value('looking for beginning of value'));
      const c = this.peek();
      this.i++;
      if (c === ']') return out;
      if (c !== ',') {
        this.i--;
        this.fail('after array element');
      }
    }
  }
}

// ---------------------------------------------------------------- decoding into a Go type

interface ErrorContext {
  /** The innermost struct's type name without its package, as Go's UnmarshalTypeError.Struct. */
  struct?: string;
  /** Field names from the top, as Go's UnmarshalTypeError.Field. */
  path: string[];
}

function describe(v: JsonValue): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function typeError(value: string, t: GoType, ctx: ErrorContext): GoJsonError {
  const into = ctx.struct !== undefined ? `Go struct field ${ctx.struct}.${ctx.path.join('.')}` : 'Go value';
  return new GoJsonError(`json: cannot unmarshal ${value} into ${into} of type ${t.name}`);
}

const shortName = (name: string) => name.slice(name.lastIndexOf('.') + 1);

/** The zero value Go leaves for a null inside a list or a map. */
function zero(t: GoType): unknown {
  switch (t.kind) {
    case 'string':
      return '';
    case 'int':
    case 'float':
      return 0;
    case 'bool':
      return false;
    case 'struct':
      return {};
    case 'array':
      return Array.from({ length: t.len }, () => zero(t.elem));
    case 'ptr':
      return null;
    default:
      return t.kind === 'map' ? {} : [];
  }
}

function plain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof JsonObject) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v.entries) setKey(out, k, plain(x));
    return out;
  }
  return v;
}

/** A key from the wire, even "__proto__", becomes an own property. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function decodeInt(n: JsonNumber, t: Extract<GoType, { kind: 'int' }>, ctx: ErrorContext): number {
  const ok = (t.signed ? /^-?\d+$/ : /^\d+$/).test(n.text);
  if (ok) {
    const big = BigInt(n.text);
    const lo = t.signed ? -(1n << BigInt(t.bits - 1)) : 0n;
    const hi = (t.signed ? 1n << BigInt(t.bits - 1) : 1n << BigInt(t.bits)) - 1n;
    if (big >= lo && big <= hi) return Number(big);
  }
  throw typeError(`number ${n.text}`, t, ctx);
}

function decode(t: GoType, v: JsonValue, ctx: ErrorContext): unknown {
  if (v === null) return undefined;
  switch (t.kind) {
    case 'any':
      return plain(v);
    case 'ptr':
      return decode(t.elem, v, ctx);
    case 'string':
      if (typeof v !== 'string') throw typeError(describe(v), t, ctx);
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw typeError(describe(v), t, ctx);
      return v;
    case 'int':
      if (!(v instanceof JsonNumber)) throw typeError(describe(v), t, ctx);
      return decodeInt(v, t, ctx);
    case 'float':
      if (!(v instanceof JsonNumber)) throw typeError(describe(v), t, ctx);
      return Number(v.text);
    case 'strslice':
      if (typeof v === 'string') return [v];
      // StrSlice tries []string, then string: a failure is reported as the string attempt's.
      if (Array.isArray(v) && v.every((x) => x === null || typeof x === 'string')) return v.map((x) => x ?? '');
      throw typeError(describe(v), str(), ctx);
    case 'slice':
    case 'array': {
      if (!Array.isArray(v)) throw typeError(describe(v), t, ctx);
      const items = t.kind === 'array' ? v.slice(0, t.len) : v;
      const out = items.map((x) => (x === null ? zero(t.elem) : decode(t.elem, x, ctx)));
      if (t.kind === 'array') while (out.length < t.len) out.push(zero(t.elem));
      return out;
    }
    case 'map': {
      if (!(v instanceof JsonObject)) throw typeError(describe(v), t, ctx);
      const out: Record<string, unknown> = {};
      for (const [k, x] of v.entries) setKey(out, k, x === null ? zero(t.elem) : decode(t.elem, x, ctx));
      return out;
    }
    case 'struct':
      return decodeStruct(t, v, ctx);
  }
}

const fieldIndexes = new WeakMap<object, Map<string, string>>();

function fieldIndex(fields: Record<string, GoType>): Map<string, string> {
  let idx = fieldIndexes.get(fields);
  if (!idx) {
    idx = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
    fieldIndexes.set(fields, idx);
  }
  return idx;
}

function decodeStruct(t: Extract<GoType, { kind: 'struct' }>, v: JsonValue, ctx: ErrorContext): Record<string, unknown> {
  if (!(v instanceof JsonObject)) throw typeError(describe(v), t, ctx);
  const out: Record<string, unknown> = {};
  const idx = fieldIndex(t.fields);
  for (const [key, x] of v.entries) {
    // Go matches a key to a field exactly first, then regardless of case.
    const name = key in t.fields ? key : idx.get(key.toLowerCase());
    if (name === undefined) {
      // Go ignores fields it does not know; they pass through (as plain JSON) for what reads them loosely.
      if (x !== null) setKey(out, key, plain(x));
      continue;
    }
    // null leaves the field as it was (unset); nothing past here sees a null.
    const value = decode(t.fields[name]!, x, { struct: shortName(t.name), path: [...ctx.path, name] });
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Parse JSON text and decode it as Go would into `t`; throws GoJsonError with Go's wording. */
export function decodeJson<T>(text: string, t: GoType): T {
  return decodeValue<T>(new Parser(text).parseDocument(), t);
}

function decodeValue<T>(v: JsonValue, t: GoType): T {
  // A null document leaves the Go value as it was: the zero value.
  return (decode(t, v, { path: [] }) ?? zero(t)) as T;
}

/** Decode an already parsed value (e.g. a JSON query parameter). */
export function decodeParsed<T>(value: unknown, t: GoType): T {
  return decodeJson<T>(JSON.stringify(value ?? null), t);
}
