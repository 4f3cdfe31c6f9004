// The .env format as compose-go's dotenv reads it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDotenv } from '../../src/compose/loader/dotenv.js';

const parse = (src: string, env: Record<string, string> = {}): Record<string, string> => {
  const out: Record<string, string> = {};
  parseDotenv(src, out, (k) => (Object.hasOwn(env, k) ? env[k] : undefined));
  return out;
};

describe('compose dotenv', () => {
  it('plain, export, yaml-style and blank/comment lines', () => {
    assert.deepEqual(parse('# comment\nA=1\n\nexport B=2\nC: 3\n  D = 4  \n'), { A: '1', B: '2', C: '3', D: '4' });
  });

  it('inline comments only after a blank on unquoted values', () => {
    assert.deepEqual(parse('A=x #comment\nB=x#not\nC="q #kept"'), { A: 'x', B: 'x#not', C: 'q #kept' });
  });

  it('single quotes are literal, double quotes expand escapes and variables', () => {
    assert.deepEqual(parse(`A='$X \\n'\nB="l1\\nl2\\t\\"q\\""\nX=x\nC="$X-\\$X"`), { A: '$X \\n', B: 'l1\nl2\t"q"', X: 'x', C: 'x-$X' });
  });

  it('double-quoted values may span lines', () => {
    assert.deepEqual(parse('A="line1\nline2"\nB=b'), { A: 'line1\nline2', B: 'b' });
  });

  it('interpolates from the environment first, then earlier keys, with modifiers', () => {
    assert.deepEqual(parse('FOO=foo\nBAR=${FOO}\nBAZ=${NOPE:-dflt}', {}), { FOO: 'foo', BAR: 'foo', BAZ: 'dflt' });
    assert.deepEqual(parse('FOO=foo\nBAR=${FOO}', { FOO: 'zot' }), { FOO: 'foo', BAR: 'zot' });
  });

  it('a bare key takes its value from the environment, or is left out', () => {
    assert.deepEqual(parse('A\nB\nC=c\n', { A: 'from-env' }), { A: 'from-env', C: 'c' });
  });

  it('a UTF-8 BOM is skipped', () => {
    assert.deepEqual(parse('\uFEFFA=1'), { A: '1' });
  });

  it('errors name the line', () => {
    assert.throws(() => parse('A=1\nB C=2'), { message: 'line 2: key cannot contain a space' });
    assert.throws(() => parse('A=1\nB$=2'), /line 2: unexpected character "\$" in variable name "B\$=2"/);
    assert.throws(() => parse('A="open'), /unterminated quoted value "open/);
  });
});
