// Reading a compose file's YAML as compose-go does: every document of the file, anchors and aliases,
// merge keys (`<<`), duplicate keys refused with their lines, and the `!reset` / `!override` tags
// recorded by path (a reset value is dropped from the document; both are applied to what earlier files
// defined, see reset.ts).
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { ComposeError } from '../types.js';
import type { Dict, Path } from './tree.js';

export interface YamlDocument {
  /** The document as plain values; not a mapping when the file is wrong (the caller says so). */
  value: unknown;
  /** Paths tagged `!reset` or `!override`: what earlier files set there is dropped before merging. */
  resets: string[][];
}

/** Bounds alias expansion (a "billion laughs" file), as compose-go's node-visit cap. */
const MAX_NODE_VISITS = 1_000_000;
const DROP = Symbol('reset');

export function parseYaml(text: string, file: string): YamlDocument[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { uniqueKeys: false, lineCounter, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: YamlDocument[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
      throw new ComposeError(`failed to parse ${file}: yaml: line ${line}: ${firstLine(err.message)}`);
    }
    if (doc.contents === null) continue;
    const conv = new Converter(doc, lineCounter, file, text);
    const value = conv.convert(doc.contents as Node, []);
    out.push({ value: value === DROP ? null : value, resets: conv.resets });
  }
  return out;
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return (nl < 0 ? s : s.slice(0, nl)).replace(/ at line \d+, column \d+:?$/, '');
}

class Converter {
  readonly resets: string[][] = [];
  private visits = 0;
  private readonly active = new Set<unknown>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly file: string,
    private readonly text: string,
  ) {}

  convert(node: Node | null, path: Path): unknown {
    if (++this.visits > MAX_NODE_VISITS) throw new ComposeError(`failed to parse ${this.file}: document exceeds the maximum of ${MAX_NODE_VISITS} nodes (aliases expanded)`);
    if (node === null || node === undefined) return null;
    if (node.tag === '!reset') {
      this.resets.push([...path]);
      return DROP;
    }
    if (node.tag === '!override') this.resets.push([...path]);
    if (isAlias(node)) return this.alias(node.resolve(this.doc) as Node | undefined, node.source, path);
    if (isMap(node)) return this.mapping(node, path);
    if (isSeq(node)) {
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        const v = this.convert(item as Node | null, [...path, `[${i}]`]);
        if (v !== DROP) out.push(v);
      });
      return out;
    }
    if (isScalar(node)) return this.scalar(node);
    return null;
  }

  /**
   * A plain "0755" is octal for Compose (go-yaml reads integers with Go's base prefixes: `mode: 0440`
   * means r--r-----), where YAML 1.2 reads 755; likewise "0b101".
   */
  private scalar(node: Extract<Node, { value: unknown }>): unknown {
    const v = node.value;
    if ((typeof v !== 'number' && typeof v !== 'string') || node.type !== 'PLAIN' || !node.range) return v;
    const text = this.text.slice(node.range[0], node.range[1]).trim();
    const m = /^([-+]?)0([0-7]+|b[01]+)$/.exec(text);
    if (!m) return v;
    const digits = m[2]!;
    const n = digits.startsWith('b') ? parseInt(digits.slice(1), 2) : parseInt(digits, 8);
    return m[1] === '-' ? -n : n;
  }

  private alias(target: Node | undefined, name: string, path: Path): unknown {
    if (!target) throw new ComposeError(`failed to parse ${this.file}: yaml: unknown anchor '${name}' referenced`);
    if (this.active.has(target)) throw new ComposeError(`failed to parse ${this.file}: cycle detected: alias *${name} refers to itself`);
    this.active.add(target);
    try {
      return this.convert(target, path);
    } finally {
      this.active.delete(target);
    }
  }

  private mapping(node: Extract<Node, { items: unknown[] }> & { items: { key: unknown; value: unknown }[] }, path: Path): Dict {
    const out: Dict = {};
    const lines = new Map<string, number>();
    const merges: Node[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? keyNode.value : keyNode;
      if (key === '<<' && isScalar(keyNode) && !keyNode.type?.startsWith('QUOTE')) {
        merges.push(pair.value as Node);
        continue;
      }
      if (typeof key !== 'string') {
        const where = path.length ? `in ${path.join('.').replace(/\.\[/g, '[')}` : 'at top level';
        throw new ComposeError(`non-string key ${where}: ${JSON.stringify(key ?? null)}`);
      }
      // A "__proto__" key would reach the objects' prototype when merged: no compose key is spelled so.
      if (key === '__proto__') throw new ComposeError(`failed to parse ${this.file}: the key "__proto__" is not allowed`);
      const line = this.line(keyNode);
      const seen = lines.get(key);
      if (seen !== undefined) throw new ComposeError(`failed to parse ${this.file}: line ${line}: mapping key ${JSON.stringify(key)} already defined at line ${seen}`);
      lines.set(key, line);
      const v = this.convert(pair.value as Node | null, [...path, key]);
      if (v !== DROP) out[key] = v;
    }
    // YAML merge keys: explicit keys win, then earlier sources win over later ones.
    for (const source of merges) {
      const items = isSeq(source) ? (source.items as Node[]) : [source];
      for (const item of items) {
        const v = this.convert(item, path);
        if (v === DROP || v === null) continue;
        if (typeof v !== 'object' || Array.isArray(v)) throw new ComposeError(`failed to parse ${this.file}: yaml: map merge requires map or sequence of maps as the value`);
        for (const [k, e] of Object.entries(v as Dict)) if (!lines.has(k) && !(k in out)) out[k] = e;
      }
    }
    return out;
  }

  private line(node: Node | null): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 0 : this.lines.linePos(offset).line;
  }
}
