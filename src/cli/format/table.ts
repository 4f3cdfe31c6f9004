// Output of listings as the docker CLI prints them: Go's text/tabwriter (minwidth 10, tabwidth 1,
// padding 3, padchar ' ', flags 0 — docker/cli formatter.Context.postFormat), `--format table ...`
// with a header row, `--format json` (one object per line) and plain Go templates.
import { renderTemplate } from './template.js';

const MIN_WIDTH = 10;
const PADDING = 3;

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Go text/tabwriter: a cell is text terminated by a tab; a column block is a run of consecutive lines
 * that have a cell in that column; each block is as wide as its widest cell plus padding (at least
 * minwidth). The last, unterminated cell of a line is not aligned.
 */
export function tabwrite(text: string, minWidth = MIN_WIDTH, padding = PADDING): string {
  const lines = text.split('\n');
  const trailingNewline = lines[lines.length - 1] === '';
  if (trailingNewline) lines.pop();
  const cells = lines.map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number): void => {
    for (let i = from; i < to; i++) {
      const line = cells[i] ?? [];
      let s = '';
      line.forEach((cell, j) => {
        if (j < line.length - 1 && j < widths.length) s += cell + ' '.repeat(Math.max(0, (widths[j] ?? 0) - runeLength(cell)));
        else if (j < line.length - 1) s += cell;
        else s += cell;
      });
      out.push(s);
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= (cells[i]?.length ?? 0) - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = minWidth;
      for (; i < line1; i++) {
        const line = cells[i] ?? [];
        if (column >= line.length - 1) break;
        width = Math.max(width, runeLength(line[column] ?? '') + padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--; // the outer loop's i++ must revisit line i (the line that ended the block)
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** A listing: rows of formatter fields plus the header names docker shows for each field. */
export interface Listing<Row extends object> {
  rows: Row[];
  headers: Record<string, string>;
  /** Fields shown when --format is empty (rendered without the template engine: fast, exact). */
  columns: (keyof Row & string)[];
}

/** docker's format replacement: `\t` and `\n` typed literally in the shell become real ones. */
export function normalizeFormat(format: string): { table: boolean; body: string } {
  let body = format;
  const table = body.startsWith('table');
  if (table) body = body.slice('table'.length);
  body = body.trim().replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return { table, body };
}

/** Header data: each field name maps to its column title (functions such as .Label get one too). */
function headerData(headers: Record<string, string>, sample: object | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = { ...headers };
  if (sample) {
    for (const [k, v] of Object.entries(sample)) {
      if (typeof v === 'function') data[k] = (): string => headers[k] ?? k.toUpperCase();
      else if (!(k in data)) data[k] = k.toUpperCase();
    }
  }
  return data;
}

/** Render rows with docker's --format rules; returns the full text to print. */
export function renderListing<Row extends object>(listing: Listing<Row>, format: string): string {
  if (format === 'json') return listing.rows.map((r) => JSON.stringify(r) + '\n').join('');
  if (!format) {
    const header = listing.columns.map((c) => listing.headers[c] ?? c.toUpperCase());
    return renderCells(header, listing.rows.map((r) => listing.columns.map((c) => String(r[c]))));
  }
  const { table, body } = normalizeFormat(format);
  if (!table) return listing.rows.map((r) => renderTemplate(body, r) + '\n').join('');
  const header = renderTemplate(body, headerData(listing.headers, listing.rows[0]));
  const lines = listing.rows.map((r) => renderTemplate(body, r));
  return tabwrite([header, ...lines].join('\n') + '\n');
}

/** Render rows of already computed cells as a docker table (fast path for default formats). */
export function renderCells(header: string[], rows: string[][]): string {
  return tabwrite([header, ...rows].map((r) => r.join('\t')).join('\n') + '\n');
}

/** docker's formatter.Ellipsis: cut to maxDisplayWidth runes, the last one replaced by "…". */
export function ellipsis(s: string, max: number): string {
  const runes = [...s];
  if (runes.length <= max) return s;
  return runes.slice(0, max - 1).join('') + '…';
}

/** stringid.TruncateID: drop the algorithm prefix, keep 12 hex digits. */
export function truncateID(id: string): string {
  const hex = id.includes(':') ? id.slice(id.indexOf(':') + 1) : id;
  return hex.slice(0, 12);
}
