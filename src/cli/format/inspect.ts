// The output of inspect (container, image, network, volume): indented JSON as docker prints it, or -f.
import { renderTemplate } from './template.js';

/** inspect's output: indented JSON like docker's, or each object through the -f template. */
export function renderInspect(objects: unknown[], format: string): string {
  if (!format) return objects.length ? JSON.stringify(objects, null, 4) + '\n' : '[]\n';
  if (format === 'json') return objects.map((o) => JSON.stringify(o) + '\n').join('');
  const template = format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return objects.map((o) => renderTemplate(template, o) + '\n').join('');
}
