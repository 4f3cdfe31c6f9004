// The Dockerfile frontend: directives, continuations, comments, heredocs, forms, flags, expansion.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../src/engine/builder/frontend/dockerfile.js';
import { expandString, expandWords, parseKeyValues } from '../../src/lib/shell-words.js';

describe('dockerfile parser', () => {
  it('joins continuations, drops comments inside them, keeps line numbers', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\nFROM busybox AS base\nRUN echo a \\\n# a comment\n    && echo b\nCMD ["sh", "-c", "echo hi"]\n');
    assert.equal(df.directives.syntax, 'docker/dockerfile:1');
    assert.deepEqual(df.instructions.map((i) => [i.name, i.line]), [['FROM', 2], ['RUN', 3], ['CMD', 6]]);
    assert.equal(df.instructions[1]!.args, 'echo a     && echo b');
    assert.deepEqual(df.instructions[2]!.json, ['sh', '-c', 'echo hi']);
  });

  it('honours the escape directive', () => {
    const df = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n  b\n');
    assert.equal(df.instructions[1]!.args, 'echo a   b');
  });

  it('reads heredocs and flags', () => {
    const df = parseDockerfile('FROM busybox\nRUN --mount=type=cache,target=/c <<EOF\necho one\necho two\nEOF\nCOPY --chown=1:2 --from=x <<-"EOT" /f\n\tliteral $X\n\tEOT\n');
    const run = df.instructions[1]!;
    assert.deepEqual(run.flags.mount, ['type=cache,target=/c']);
    assert.deepEqual(run.heredocs, [{ name: 'EOF', body: 'echo one\necho two\n', expand: true, chomp: false }]);
    const copy = df.instructions[2]!;
    assert.deepEqual(copy.flags, { chown: ['1:2'], from: ['x'] });
    assert.deepEqual(copy.heredocs[0], { name: 'EOT', body: 'literal $X\n', expand: false, chomp: true });
  });

  it('refuses bad input naming file, line and instruction', () => {
    assert.throws(() => parseDockerfile('FROM busybox\nBOGUS x\n', 'app.Dockerfile'), /failed to parse app\.Dockerfile: line 2: unknown instruction: BOGUS/);
    assert.throws(() => parseDockerfile('RUN true\n'), /line 1: no build stage in current context/);
    assert.throws(() => parseDockerfile('FROM busybox\nCOPY --bogus=1 a b\n'), /line 2: Unknown flag: bogus/);
    assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\necho\n'), /unterminated heredoc/);
    assert.throws(() => parseDockerfile('FROM busybox\nSHELL /bin/bash\n'), /SHELL requires the arguments to be in JSON form/);
    assert.throws(() => parseDockerfile(''), /cannot be empty/);
  });
});

describe('dockerfile variables', () => {
  const env = new Map([['A', 'x'], ['EMPTY', ''], ['PATHV', '/usr/local/bin']]);
  it('expands with Docker\'s modifiers', () => {
    assert.equal(expandString('${A:-d} ${NOPE:-d} ${EMPTY:-d} ${EMPTY-d} ${A:+alt} ${NOPE:+alt} ${NOPE+alt}', env), 'x d d  alt  ');
    assert.equal(expandString('${PATHV#/usr} ${PATHV##*/} ${PATHV%/*}', env), '/local/bin bin /usr/local');
    assert.throws(() => expandString('${NOPE:?must be set}', env), /NOPE: must be set/);
  });
  it('splits words with quotes and escapes', () => {
    assert.deepEqual(expandWords('a "b c" \'$A\' \\$A $A', env), ['a', 'b c', '$A', '$A', 'x']);
    assert.deepEqual(parseKeyValues('K=v K2="two words" K3=$A', env, '\\', 'ENV'), [['K', 'v'], ['K2', 'two words'], ['K3', 'x']]);
    assert.deepEqual(parseKeyValues('LEGACY value with spaces', env, '\\', 'ENV'), [['LEGACY', 'value with spaces']]);
  });
});
