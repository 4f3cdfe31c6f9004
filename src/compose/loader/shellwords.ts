// A command written as one string (`command: echo "a b"`) split into arguments as compose-go does it,
// with go-shellwords' default parser: blanks separate, single quotes are literal, double quotes group,
// a backslash escapes (\t and \n become tab and newline), "$(" opens a group closed by ")", and the
// words stop at an unquoted ; & | < > (Compose does not run a shell: use the list form or sh -c).
import { ComposeError } from '../types.js';

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const invalid = (): ComposeError => new ComposeError('invalid command line string');

export function shellSplit(line: string): string[] {
  const args: string[] = [];
  let buf = '';
  let escaped = false;
  let dq = false;
  let sq = false;
  let bq = false;
  let dollar = false;
  let got: 'no' | 'single' | 'quoted' = 'no';
  loop: for (const ch of line) {
    let r = ch;
    if (escaped) {
      if (r === 't') r = '\t';
      if (r === 'n') r = '\n';
      buf += r;
      escaped = false;
      got = 'single';
      continue;
    }
    if (r === '\\') {
      if (sq) buf += r;
      else escaped = true;
      continue;
    }
    if (isSpace(r)) {
      if (sq || dq || bq || dollar) buf += r;
      else if (got !== 'no') {
        args.push(buf);
        buf = '';
        got = 'no';
      }
      continue;
    }
    switch (r) {
      case '`':
        if (!sq && !dq && !dollar) bq = !bq;
        break;
      case ')':
        if (!sq && !dq && !bq) {
          if (!dollar) throw invalid();
          buf += r;
          dollar = false;
          got = 'single';
          continue;
        }
        break;
      case '(':
        if (!sq && !dq && !bq) {
          if (!dollar && buf.endsWith('$')) {
            dollar = true;
            buf += '(';
            continue;
          }
          throw invalid();
        }
        break;
      case '"':
        if (!sq && !dollar) {
          if (dq) got = 'quoted';
          dq = !dq;
          continue;
        }
        break;
      case "'":
        if (!dq && !dollar) {
          if (sq) got = 'quoted';
          sq = !sq;
          continue;
        }
        break;
      case ';':
      case '&':
      case '|':
      case '<':
      case '>':
        if (!(sq || dq || bq || dollar)) break loop;
        break;
    }
    got = 'single';
    buf += r;
  }
  if (got !== 'no') args.push(buf);
  if (escaped || sq || dq || bq || dollar) throw invalid();
  return args;
}
