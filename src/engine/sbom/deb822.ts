// Debian control-file syntax (deb822): paragraphs separated by blank lines, `Field: value` lines,
// continuation lines starting with a space or tab. Used by dpkg's status database and DEP-5 copyright files.

export interface Paragraph {
  fields: Map<string, string>;
  /** 1-based line where the paragraph starts (for warnings). */
  line: number;
}

export interface Parsed {
  paragraphs: Paragraph[];
  /** Lines that are neither a field nor a continuation, with their line numbers. */
  errors: string[];
}

export function parseDeb822(text: string): Parsed {
  const paragraphs: Paragraph[] = [];
  const errors: string[] = [];
  let cur: Paragraph | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      cur = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line[0] === ' ' || line[0] === '\t') {
      if (!cur || !last) {
        errors.push(`line ${i + 1}: continuation line outside a field`);
        continue;
      }
      cur.fields.set(last, cur.fields.get(last)! + '\n' + line.slice(1));
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) {
      errors.push(`line ${i + 1}: not a "Field: value" line`);
      continue;
    }
    if (!cur) {
      cur = { fields: new Map(), line: i + 1 };
      paragraphs.push(cur);
    }
    last = line.slice(0, colon);
    cur.fields.set(last, line.slice(colon + 1).trim());
  }
  return { paragraphs, errors };
}
