// Go text/template as Docker's --format uses it: parse once, execute per row.

import { InvalidParameter } from '../../../lib/errors.js';
import type { Node } from './ast.js';
import { Executor, TemplateExecError } from './exec.js';
import { functionTable, LAZY_FUNCS } from './funcs.js';
import { TemplateSyntaxError } from './lexer.js';
import { Parser } from './parser.js';

export interface CompiledTemplate {
  /** Render against one value. Throws InvalidParameter ("template: :1:2: executing ...") on execution errors. */
  execute(data: unknown): string;
}

export interface TemplateOptions {
  /** Use docker/cli's HeaderFunctions (json, lower, join, ... return their argument) for table headers. */
  header?: boolean;
}

/** Parse a template. Throws InvalidParameter("template parsing error: template: :1: ...") on bad syntax. */
export function parseTemplate(template: string, options: TemplateOptions = {}): CompiledTemplate {
  const funcs = functionTable(options.header ?? false);
  let root: Node[];
  try {
    root = new Parser(template, (name) => name in funcs || LAZY_FUNCS.has(name)).parse();
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new InvalidParameter(`template parsing error: ${e.message}`);
    throw e;
  }
  return {
    execute(data: unknown): string {
      try {
        return new Executor(template, funcs).run(root, data);
      } catch (e) {
        if (e instanceof TemplateExecError) throw new InvalidParameter(e.message);
        throw e;
      }
    },
  };
}

// The CLI renders one format for every row; keep recent compilations.
const cache = new Map<string, CompiledTemplate>();
const CACHE_LIMIT = 64;

/** Render a Go template against data. Throws InvalidParameter on a template syntax error
 *  ("template parsing error: ..."), as docker does, and on execution errors ("template: ..."). */
export function renderTemplate(template: string, data: unknown, options: TemplateOptions = {}): string {
  const key = (options.header ? 'h' : 'b') + template;
  let t = cache.get(key);
  if (!t) {
    t = parseTemplate(template, options);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, t);
  }
  return t.execute(data);
}
