// Go text/template as Docker's --format uses it.
// STUB: signatures only; implementation in progress.

/** Render a Go template against data. Throws InvalidParameter on a template syntax error
 *  ("template parsing error: ..."), as docker does. */
export function renderTemplate(_template: string, _data: unknown): string {
  throw new Error('not implemented');
}
