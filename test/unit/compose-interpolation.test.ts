// Interpolation as the compose specification defines it (compose-go's template package is the reference).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { substitute, MissingRequiredError } from '../../src/compose/loader/template.js';
import { interpolate } from '../../src/compose/loader/interpolate.js';

const env: Record<string, string> = { FOO: 'foo', EMPTY: '', BAR: 'bar', PORT: '8080', FLAG: 'true' };
const lookup = (k: string): string | undefined => (Object.hasOwn(env, k) ? env[k] : undefined);
const sub = (t: string): string => substitute(t, lookup);

describe('compose interpolation', () => {
  it('substitutes $VAR and ${VAR}, an unset one as empty (with a warning)', () => {
    assert.equal(sub('$FOO'), 'foo');
    assert.equal(sub('${FOO}'), 'foo');
    assert.equal(sub('a-${FOO}-b $BAR.c'), 'a-foo-b bar.c');
    const unset: string[] = [];
    assert.equal(substitute('x${NOPE}y$NOPE2', lookup, { onUnset: (n) => unset.push(n) }), 'xy');
    assert.deepEqual(unset, ['NOPE', 'NOPE2']);
  });

  it('$$ is a literal dollar, and $ before a non-name stays', () => {
    assert.equal(sub('$$FOO'), '$FOO');
    assert.equal(sub('$${FOO}'), '${FOO}');
    assert.equal(sub('cost: 5$'), 'cost: 5$');
    assert.equal(sub('$1 $ x'), '$1 $ x');
  });

  it(':- and - defaults (empty vs unset)', () => {
    assert.equal(sub('${NOPE:-dflt}'), 'dflt');
    assert.equal(sub('${EMPTY:-dflt}'), 'dflt');
    assert.equal(sub('${FOO:-dflt}'), 'foo');
    assert.equal(sub('${NOPE-dflt}'), 'dflt');
    assert.equal(sub('${EMPTY-dflt}'), '');
    assert.equal(sub('${FOO-dflt}'), 'foo');
  });

  it(':+ and + alternatives', () => {
    assert.equal(sub('${FOO:+alt}'), 'alt');
    assert.equal(sub('${EMPTY:+alt}'), '');
    assert.equal(sub('${NOPE:+alt}'), '');
    assert.equal(sub('${EMPTY+alt}'), 'alt');
    assert.equal(sub('${NOPE+alt}'), '');
  });

  it(':? and ? required, with the message interpolated', () => {
    assert.throws(() => sub('${NOPE:?must be set}'), { message: 'required variable NOPE is missing a value: must be set' });
    assert.throws(() => sub('${EMPTY:?no empty}'), { message: 'required variable EMPTY is missing a value: no empty' });
    assert.equal(sub('${EMPTY?x}'), '');
    assert.throws(() => sub('${NOPE?}'), { message: 'required variable NOPE is missing a value' });
    assert.throws(() => sub('${NOPE:?$FOO is set}'), { message: 'required variable NOPE is missing a value: foo is set' });
    assert.throws(() => sub('${NOPE?x}'), MissingRequiredError);
  });

  it('nested defaults and several variables in one string', () => {
    assert.equal(sub('${NOPE:-${FOO}}'), 'foo');
    assert.equal(sub('${NOPE:-${NOPE2:-${BAR}}}'), 'bar');
    assert.equal(sub('${NOPE:-a}/${FOO:-b}/${BAR}'), 'a/foo/bar');
    assert.equal(sub('${FOO:+${BAR}-x}'), 'bar-x');
    assert.equal(sub('${NOPE:-$$literal}'), '$literal');
    assert.equal(sub('http://${HOST:-localhost}:${PORT:-80}/'), 'http://localhost:8080/');
  });

  it('the reference\'s own template cases give the same results', () => {
    const m: Record<string, string> = { FOO: 'first', BAR: '', JSON: '{"json":2}' };
    const l = (k: string): string | undefined => (Object.hasOwn(m, k) ? m[k] : undefined);
    const cases: [string, string][] = [
      ['-ok ${BAR:-defaultValue}', '-ok defaultValue'],
      ['+ok ${UNSET:-${BAR-defaultValue}}', '+ok '],
      [':-ok ${BAR-defaultValue}', ':-ok '],
      ['ok ${UNSET_VAR-${FOO} ${FOO}}', 'ok first first'],
      ['ok ${BAR+$FOO ${FOO:+second}}', 'ok first second'],
      ['${UNSET_VAR-myerror?msg}', 'myerror?msg'],
      ['${FOO?bar-baz}', 'first'],
      ['ok ${missing:-{"json":1}}', 'ok {"json":1}'],
      ['ok ${JSON-{"json":1}}', 'ok {"json":2}'],
      ['$FOO-bar', 'first-bar'],
      ['${A:+${A},}B', 'B'],
    ];
    for (const [template, want] of cases) assert.equal(substitute(template, l), want, template);
    for (const bad of ['${', '${}', '${ }', '${ foo}', '${foo }', '${foo!}']) assert.throws(() => substitute(bad, l), /Invalid template/, bad);
  });

  it('an invalid template is an error naming the path', () => {
    assert.throws(() => interpolate({ services: { web: { image: 'a${' } } }, lookup), {
      message: 'invalid interpolation format for services.web.image.\nYou may need to escape any $ with another $.\na${',
    });
    assert.throws(() => interpolate({ services: { web: { image: '${FOO BAR}' } } }, lookup), /invalid interpolation format for services\.web\.image/);
  });

  it('a required variable error names the path as Compose does', () => {
    assert.throws(() => interpolate({ services: { web: { environment: ['X=${NOPE:?set it}'] } } }, lookup), {
      message: 'error while interpolating services.web.environment.[]: required variable NOPE is missing a value: set it',
    });
  });

  it('interpolates values, never keys, and casts typed fields', () => {
    const out = interpolate(
      {
        services: {
          web: {
            labels: { '${FOO}': '${BAR}' },
            ports: [{ target: '${PORT}' }],
            read_only: '${FLAG}',
            deploy: { replicas: '${PORT}' },
            cpus: '0.5',
          },
        },
        networks: { n: { external: 'false' } },
      },
      lookup,
    );
    assert.deepEqual(out, {
      services: { web: { labels: { '${FOO}': 'bar' }, ports: [{ target: 8080 }], read_only: true, deploy: { replicas: 8080 }, cpus: 0.5 } },
      networks: { n: { external: false } },
    });
    assert.throws(() => interpolate({ services: { web: { scale: '${FOO}' } } }, lookup), /error while interpolating services\.web\.scale: failed to cast to expected type/);
  });
});
