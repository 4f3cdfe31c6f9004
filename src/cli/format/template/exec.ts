// Executes a parsed template against JSON-shaped data, following text/template/exec.go.
// `undefined` plays Go's invalid reflect.Value (a missing map key): it prints "<no value>".

import { argString, commandString, pipeString, type Arg, type Command, type ControlNode, type Node, type Pipe } from './ast.js';
import { formatValue, goTypeName, isMap, sortedKeys } from './fmt.js';
import { FuncError, isTrue, LAZY_FUNCS, type ParamType, type TemplateFunc } from './funcs.js';

/** An execution error, already worded like Go's ("template: :1:2: executing ..."). */
export class TemplateExecError extends Error {}

const NO_FINAL: unique symbol = Symbol('no final');
type Final = unknown;

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string;
  value: unknown;
}

interface Located {
  pos: number;
  text: string;
}

export class Executor {
  private vars: Variable[] = [];
  private out: string[] = [];
  private at: Located = { pos: -1, text: '' };

  constructor(
    private readonly source: string,
    private readonly funcs: Record<string, TemplateFunc>,
  ) {}

  run(root: Node[], data: unknown): string {
    this.vars = [{ name: '$', value: data }];
    this.out = [];
    this.walkList(data, root);
    return this.out.join('');
  }

  // ---- errors

  private locate(pos: number, text: string): void {
    this.at = { pos, text };
  }

  private fail(msg: string): never {
    const { pos, text } = this.at;
    if (pos < 0) throw new TemplateExecError(`template: : ${msg}`);
    const before = this.source.slice(0, pos);
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const nl = before.lastIndexOf('\n');
    const col = nl < 0 ? pos : pos - nl - 1;
    throw new TemplateExecError(`template: :${line}:${col}: executing "" at <${text}>: ${msg}`);
  }

  // ---- variables

  private lookup(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Variable;
      if (v.name === name) return v.value;
    }
    this.fail(`undefined variable: ${name}`);
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      const v = this.vars[i] as Variable;
      if (v.name === name) {
        v.value = value;
        return;
      }
    }
    this.fail(`undefined variable: ${name}`);
  }

  // ---- statements

  private walkList(dot: unknown, list: Node[]): void {
    for (const n of list) this.walk(dot, n);
  }

  private walk(dot: unknown, n: Node): void {
    switch (n.type) {
      case 'text':
        this.out.push(n.text);
        return;
      case 'action': {
        const v = this.evalPipeline(dot, n.pipe);
        if (n.pipe.decl.length === 0) this.out.push(v === undefined ? '<no value>' : formatValue(v));
        return;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, n);
      case 'range':
        return this.walkRange(dot, n);
      case 'break':
        throw new BreakSignal();
      case 'continue':
        throw new ContinueSignal();
    }
  }

  private walkIfOrWith(dot: unknown, n: ControlNode): void {
    const mark = this.vars.length;
    try {
      const v = this.evalPipeline(dot, n.pipe);
      if (isTrue(v)) this.walkList(n.type === 'with' ? v : dot, n.list);
      else if (n.elseList) this.walkList(dot, n.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, n: ControlNode): void {
    const mark = this.vars.length;
    try {
      this.locate(n.pos, `range ${pipeString(n.pipe)}`);
      const v = this.evalPipeline(dot, { ...n.pipe, decl: [] });
      for (const name of n.pipe.isAssign ? [] : n.pipe.decl) this.vars.push({ name, value: v });
      const entries = this.rangeEntries(v, n);
      if (entries.length === 0) {
        if (n.elseList) this.walkList(dot, n.elseList);
        return;
      }
      for (const [key, elem] of entries) {
        if (!this.iterate(n, key, elem)) break;
      }
    } finally {
      this.vars.length = mark;
    }
  }

  private rangeEntries(v: unknown, n: ControlNode): [unknown, unknown][] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v.map((e, i) => [i, e]);
    if (isMap(v)) return sortedKeys(v).map((k) => [k, v[k]]);
    if (typeof v === 'number' && Number.isInteger(v)) {
      if (n.pipe.decl.length > 1) this.fail(`can't use ${v} to iterate over more than one variable`);
      return Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    }
    this.fail(`range can't iterate over ${formatValue(v)}`);
  }

  /** One range iteration; false when {{break}} ended the loop. */
  private iterate(n: ControlNode, key: unknown, elem: unknown): boolean {
    const decl = n.pipe.decl;
    const assign = (name: string | undefined, value: unknown): void => {
      if (name !== undefined) this.setVar(name, value);
    };
    if (decl.length === 1) assign(decl[0], elem);
    if (decl.length === 2) {
      assign(decl[0], key);
      assign(decl[1], elem);
    }
    const mark = this.vars.length;
    try {
      this.walkList(elem, n.list);
    } catch (e) {
      if (e instanceof BreakSignal) return false;
      if (!(e instanceof ContinueSignal)) throw e;
    } finally {
      this.vars.length = mark;
    }
    return true;
  }

  // ---- pipelines and commands

  private evalPipeline(dot: unknown, pipe: Pipe): unknown {
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    for (const name of pipe.decl) {
      if (pipe.isAssign) this.setVar(name, value);
      else this.vars.push({ name, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: Command, final: Final): unknown {
    const first = cmd.args[0] as Arg;
    switch (first.type) {
      case 'field':
        return this.evalFieldChain(dot, first, dot, first.idents, cmd.args, final);
      case 'variable':
        return this.evalVariable(first, cmd.args, final);
      case 'chain': {
        const receiver = this.evalArg(dot, first.node);
        return this.evalFieldChain(dot, first, receiver, first.idents, cmd.args, final);
      }
      case 'identifier':
        return this.evalFunction(dot, first.name, cmd, cmd.args.slice(1), final);
      case 'pipe':
        this.notAFunction(first, cmd.args, final);
        return this.evalPipeline(dot, first.pipe);
      default:
        this.locate(first.pos, argString(first));
        this.notAFunction(first, cmd.args, final);
        if (first.type === 'nil') this.fail('nil is not a command');
        return this.evalArg(dot, first);
    }
  }

  private notAFunction(first: Arg, args: Arg[], final: Final): void {
    if (args.length > 1 || final !== NO_FINAL) {
      this.locate(first.pos, argString(first));
      this.fail(`can't give argument to non-function ${argString(first)}`);
    }
  }

  private evalVariable(v: Extract<Arg, { type: 'variable' }>, args: Arg[], final: Final): unknown {
    this.locate(v.pos, argString(v));
    const value = this.lookup(v.name);
    if (v.idents.length === 0) {
      this.notAFunction(v, args, final);
      return value;
    }
    return this.evalFieldChain(value, v, value, v.idents, args, final);
  }

  private evalFieldChain(dot: unknown, node: Arg, receiver: unknown, idents: string[], args: Arg[], final: Final): unknown {
    this.locate(node.pos, argString(node));
    let cur = receiver;
    idents.forEach((name, i) => {
      const last = i === idents.length - 1;
      const methodArgs = last ? args.slice(1) : [];
      cur = this.evalField(dot, name, cur, methodArgs, last ? final : NO_FINAL);
      this.locate(node.pos, argString(node));
    });
    return cur;
  }

  /** A field of a map/object; a function-valued field is called like a Go method ({{.Label "k"}}). */
  private evalField(dot: unknown, name: string, receiver: unknown, args: Arg[], final: Final): unknown {
    if (receiver === undefined) return undefined;
    if (receiver === null) this.fail(`nil pointer evaluating interface {}.${name}`);
    if (!isMap(receiver)) this.fail(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
    const value = hasField(receiver, name) ? receiver[name] : undefined;
    if (typeof value === 'function') return this.callMethod(dot, receiver, name, value, args, final);
    if (args.length > 0 || final !== NO_FINAL) this.fail(`${name} is not a method but has arguments`);
    return value;
  }

  private callMethod(dot: unknown, receiver: object, name: string, method: unknown, argNodes: Arg[], final: Final): unknown {
    const fn = method as (...a: unknown[]) => unknown;
    const args = argNodes.map((a) => this.evalArg(dot, a) ?? null);
    if (final !== NO_FINAL) args.push(final ?? null);
    if (args.length !== fn.length) this.fail(`wrong number of args for ${name}: want ${fn.length} got ${args.length}`);
    try {
      return fn.apply(receiver, args);
    } catch (e) {
      this.fail(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private evalFunction(dot: unknown, name: string, cmd: Command, argNodes: Arg[], final: Final): unknown {
    const ident = cmd.args[0] as Arg;
    if (LAZY_FUNCS.has(name)) return this.evalAndOr(dot, name, ident, argNodes, final);
    const fn = this.funcs[name];
    this.locate(ident.pos, name);
    if (!fn) this.fail(`"${name}" is not a defined function`);
    const count = argNodes.length + (final === NO_FINAL ? 0 : 1);
    this.checkArity(name, fn, count);
    const args: unknown[] = argNodes.map((a, i) => this.typedArg(dot, a, paramType(fn, i)));
    if (final !== NO_FINAL) args.push(this.checkType(final, paramType(fn, args.length)));
    try {
      return fn.call(args);
    } catch (e) {
      if (!(e instanceof FuncError)) throw e;
      this.locate(cmd.pos, commandString(cmd));
      this.fail(`error calling ${name}: ${e.message}`);
    }
  }

  private checkArity(name: string, fn: TemplateFunc, count: number): void {
    const want = fn.params.length;
    if (fn.variadic !== undefined ? count < want : count !== want) {
      const atLeast = fn.variadic !== undefined ? 'at least ' : '';
      this.fail(`wrong number of args for ${name}: want ${atLeast}${want} got ${count}`);
    }
  }

  /** and/or stop at the first argument that decides the result, as Go 1.18+ does. */
  private evalAndOr(dot: unknown, name: string, ident: Arg, argNodes: Arg[], final: Final): unknown {
    const count = argNodes.length + (final === NO_FINAL ? 0 : 1);
    if (count < 1) {
      this.locate(ident.pos, name);
      this.fail(`wrong number of args for ${name}: want at least 1 got 0`);
    }
    let v: unknown;
    for (const a of argNodes) {
      v = this.evalArg(dot, a);
      if (isTrue(v) === (name === 'or')) return v;
    }
    return final === NO_FINAL ? v : final;
  }

  private typedArg(dot: unknown, a: Arg, type: ParamType): unknown {
    const v = this.evalArg(dot, a);
    this.locate(a.pos, argString(a));
    return this.checkType(v, type);
  }

  /** Go converts arguments to the parameter's type; a mismatch is an execution error. */
  private checkType(v: unknown, type: ParamType): unknown {
    if (type === 'any') return v === undefined ? null : v;
    if (v === undefined || v === null) this.fail(`invalid value; expected ${type}`);
    const ok = type === 'string' ? typeof v === 'string' : typeof v === 'number' && Number.isInteger(v);
    if (!ok) this.fail(`wrong type for value; expected ${type}; got ${goTypeName(v)}`);
    return v;
  }

  private evalArg(dot: unknown, a: Arg): unknown {
    switch (a.type) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return a.value;
      case 'field':
        return this.evalFieldChain(dot, a, dot, a.idents, [], NO_FINAL);
      case 'variable':
        return this.evalVariable(a, [], NO_FINAL);
      case 'chain':
        return this.evalFieldChain(dot, a, this.evalArg(dot, a.node), a.idents, [], NO_FINAL);
      case 'pipe':
        return this.evalPipeline(dot, a.pipe);
      case 'identifier':
        return this.evalFunction(dot, a.name, { pos: a.pos, args: [a] }, [], NO_FINAL);
    }
  }
}

/** Own properties, and methods of class instances; never Object.prototype's members. */
function hasField(receiver: Record<string, unknown>, name: string): boolean {
  if (Object.prototype.hasOwnProperty.call(receiver, name)) return true;
  return name in receiver && !(name in Object.prototype);
}

function paramType(fn: TemplateFunc, i: number): ParamType {
  return fn.params[i] ?? fn.variadic ?? 'any';
}
