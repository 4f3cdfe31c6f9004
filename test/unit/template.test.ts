import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, renderTemplate, sprintf } from '../../src/cli/format/template.js';
import { InvalidParameter } from '../../src/lib/errors.js';

const container = {
  Id: 'abc123',
  Name: '/web',
  Args: ['-c', 'echo hi'],
  State: { Status: 'running', Running: true, Pid: 4242, ExitCode: 0, Health: null },
  Config: {
    Labels: { foo: 'bar', 'com.example.x': 'y', a: '1' },
    Env: ['PATH=/bin', 'A=1'],
    Cmd: ['sh', '-c', 'a<b && c>d'],
  },
  RepoDigests: ['busybox@sha256:0123'],
  Mounts: [
    { Source: '/src/a', Destination: '/a' },
    { Source: '/src/b', Destination: '/b' },
  ],
  Names: ['web', 'alias'],
  Size: 2129920,
  Ratio: 1.5,
};

const r = (t: string, data: unknown = container): string => renderTemplate(t, data);

function throwsMessage(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidParameter, `expected InvalidParameter, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

test('typical docker --format usages', () => {
  assert.equal(r('{{.State.Pid}}'), '4242');
  assert.equal(r('{{index .RepoDigests 0}}'), 'busybox@sha256:0123');
  assert.equal(r('{{range .Mounts}}{{.Source}} {{end}}'), '/src/a /src/b ');
  assert.equal(r('{{join .Args ","}}'), '-c,echo hi');
  assert.equal(r('{{.Config.Labels.foo}}'), 'bar');
  assert.equal(r('{{index .Config.Labels "com.example.x"}}'), 'y');
  assert.equal(r('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}'), 'a=1;com.example.x=y;foo=bar;');
  assert.equal(r('{{if eq .State.Status "running"}}up{{else}}down{{end}}'), 'up');
  assert.equal(r('{{printf "%-10s|" .Name}}'), '/web      |');
  assert.equal(r('{{.Names}}'), '[web alias]');
  assert.equal(r('{{lower .Name | printf "%q"}}'), '"/web"');
  assert.equal(r('{{.Id}} {{.Size}}'), 'abc123 2129920');
});

test('json is Go JSON without HTML escaping, as docker/cli (SetEscapeHTML(false))', () => {
  assert.equal(r('{{json .Config.Cmd}}'), '["sh","-c","a<b && c>d"]');
  assert.equal(r('{{json .State}}'), '{"Status":"running","Running":true,"Pid":4242,"ExitCode":0,"Health":null}');
  assert.equal(r('{{json .Missing}}'), 'null');
  assert.equal(r('{{json .}}', 'a\u2028b'), '"a\\u2028b"');
  assert.equal(r('{{.Config.Labels | json}}'), '{"foo":"bar","com.example.x":"y","a":"1"}');
  assert.equal(r('{{json .}}', { a: [1, 2.5, 'x'] }), '{"a":[1,2.5,"x"]}');
});

test('dot, root, fields and missing values', () => {
  assert.equal(r('{{.}}', 'plain'), 'plain');
  assert.equal(r('{{with .State}}{{$.Name}}:{{.Status}}{{end}}'), '/web:running');
  assert.equal(r('{{.Missing}}'), '<no value>');
  assert.equal(r('{{.Missing.Deeper}}'), '<no value>');
  assert.equal(r('{{.State.Health}}'), '<nil>');
  assert.equal(r('{{.Config.Labels}}'), 'map[a:1 com.example.x:y foo:bar]');
  assert.equal(r('{{.}}', { b: [1, null, true], a: { z: 'q' } }), 'map[a:map[z:q] b:[1 <nil> true]]');
  assert.equal(r('{{.}}', []), '[]');
  assert.equal(r('{{.toString}} {{.constructor}}', {}), '<no value> <no value>');
  assert.equal(r('{{(index .Mounts 1).Destination}}'), '/b');
  assert.equal(r('{{.Ratio}} {{.F}}', { Ratio: 1.5, F: 1234567.5 }), '1.5 1.2345675e+06');
  assert.equal(r('{{.}}', 1e-7), '1e-07');
});

test('variables, declaration and assignment', () => {
  assert.equal(r('{{$x := .Name}}{{$x}}{{$x = "z"}}-{{$x}}'), '/web-z');
  assert.equal(r('{{$n := len .Args}}{{if gt $n 1}}many{{end}}'), 'many');
  assert.equal(r('{{$}}', 'root'), 'root');
  assert.equal(r('{{range .Mounts}}{{$.Name}}{{.Destination}} {{end}}'), '/web/a /web/b ');
  assert.equal(r('{{$m := index .Mounts 0}}{{$m.Source}}'), '/src/a');
});

test('if / else if / else, with, and truthiness', () => {
  const t = parseTemplate('{{if .A}}a{{else if .B}}b{{else}}c{{end}}');
  assert.equal(t.execute({ A: 1 }), 'a');
  assert.equal(t.execute({ B: 'x' }), 'b');
  assert.equal(t.execute({ A: 0, B: '' }), 'c');
  assert.equal(t.execute({ A: [], B: {} }), 'c');
  assert.equal(r('{{with .Missing}}x{{else}}none{{end}}'), 'none');
  assert.equal(r('{{with $x := .State.Pid}}{{$x}}{{end}}'), '4242');
  assert.equal(r('{{with .A}}a{{else with .B}}{{.}}{{end}}', { B: 'bee' }), 'bee');
});

test('range over arrays, maps, integers, with else, break and continue', () => {
  assert.equal(r('{{range $i, $v := .Args}}{{$i}}:{{$v}} {{end}}'), '0:-c 1:echo hi ');
  assert.equal(r('{{range $v := .Names}}<{{$v}}>{{end}}'), '<web><alias>');
  assert.equal(r('{{range .}}{{.}}{{end}}', { b: 2, a: 1, c: 3 }), '123');
  assert.equal(r('{{range .X}}x{{else}}empty{{end}}', { X: [] }), 'empty');
  assert.equal(r('{{range .X}}x{{else}}empty{{end}}', {}), 'empty');
  assert.equal(r('{{range 3}}{{.}}{{end}}'), '012');
  assert.equal(r('{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}', [1, 2, 3, 4, 5]), '13');
});

test('trim markers and comments', () => {
  assert.equal(r('a  {{- .Name -}}  \n b'), 'a/webb');
  assert.equal(r('x {{/* a comment */}} y'), 'x  y');
  assert.equal(r('x {{- /* trimmed */ -}} y'), 'xy');
  assert.equal(r('{{-3}}'), '-3');
  assert.equal(r('{{range .Names -}}\n  {{.}}\n{{- end}}'), 'webalias');
});

test('literals: strings, raw strings, chars, numbers, bools, nil', () => {
  assert.equal(r('{{"a\\tb\\u00e9\\x41"}}'), 'a\tbéA');
  assert.equal(r('{{`raw\\n`}}'), 'raw\\n');
  assert.equal(r("{{'a'}} {{0x1F}} {{0o17}} {{1_000}} {{-2}} {{1.5}} {{true}} {{false}}"), '97 31 15 1000 -2 1.5 true false');
  assert.equal(r('{{printf "%v" nil}}'), '<nil>');
  assert.equal(r('{{print nil}}'), '<nil>');
});

test('comparison and logic functions', () => {
  assert.equal(r('{{eq 1 2 3 1}} {{eq "a" "b"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}'), 'true false true true true true false');
  assert.equal(r('{{eq .State.ExitCode 0}}'), 'true');
  assert.equal(r('{{eq .Missing "x"}}'), 'false');
  assert.equal(r('{{and 1 0 2}} {{and 1 2}} {{or 0 "" "x"}} {{or 0 ""}} {{not 0}} {{not "a"}}'), '0 2 x  true false');
  // and/or stop early: the second argument would fail
  assert.equal(r('{{or 1 (index .Args 99)}}'), '1');
  assert.equal(r('{{if and .State.Running (eq .State.Pid 4242)}}yes{{end}}'), 'yes');
});

test('len, index, slice', () => {
  assert.equal(r('{{len .Args}} {{len .Config.Labels}} {{len "héllo"}}'), '2 3 6');
  assert.equal(r('{{index .Config "Labels" "foo"}}'), 'bar');
  assert.equal(r('{{index .Config.Labels "nope"}}'), '<no value>');
  assert.equal(r('{{index "abc" 1}}'), '98');
  assert.equal(r('{{slice .Name 1 3}} {{slice .Args 1}} {{slice "abc"}}'), 'we [echo hi] abc');
});

test('printf follows Go fmt for common verbs', () => {
  assert.equal(sprintf('%s|%d|%v|%q|%t', ['a', 42, [1, 'b'], 'x"y', true]), 'a|42|[1 b]|"x\\"y"|true');
  assert.equal(sprintf('%5s|%-5s|%05d|%+d|%x|%X|%o|%b|%#x', ['ab', 'ab', 42, 5, 255, 255, 8, 5, 255]), '   ab|ab   |00042|+5|ff|FF|10|101|0xff');
  assert.equal(sprintf('%f|%.2f|%8.3f|%e|%g|%.3g|%g', [1.5, 3.14159, 2.5, 1234.5678, 0.0001, 1234.5678, 1e21]), '1.500000|3.14|   2.500|1.234568e+03|0.0001|1.23e+03|1e+21');
  assert.equal(sprintf('%05d|%-4d|%c|%U|%q', [-42, 7, 65, 0x1f600, 65]), '-0042|7   |A|U+1F600|\'A\'');
  assert.equal(sprintf('%.2s|%x|% x', ['héllo', 'hi', 'hi']), 'hé|6869|68 69');
  assert.equal(sprintf('%d %s', ['x', 1]), '%!d(string=x) %!s(int=1)');
  assert.equal(sprintf('%d', []), '%!d(MISSING)');
  assert.equal(sprintf('x', [1, 'a']), 'x%!(EXTRA int=1, string=a)');
  assert.equal(sprintf('100%%', []), '100%');
  assert.equal(sprintf('%.0f %.0f %.2f %.1f', [2.5, 3.5, 0.125, 0.25]), '2 4 0.12 0.2');
  assert.equal(sprintf('%v %v %v', [null, { b: 1, a: 2 }, 2.5]), '<nil> map[a:2 b:1] 2.5');
  assert.equal(sprintf('%q', ['tab\there\u0001']), '"tab\\there\\x01"');
  assert.equal(r('{{printf "%s=%d" "n" 3}}'), 'n=3');
});

test('print and println spacing like fmt.Sprint / Sprintln', () => {
  assert.equal(r('{{print 1 2 "a" 3 "b" "c"}}'), '1 2a3bc');
  assert.equal(r('{{println "x" 1}}'), 'x 1\n');
  assert.equal(r('{{print .Args}}'), '[-c echo hi]');
});

test('docker functions: split, join, title, lower, upper, pad, truncate', () => {
  assert.equal(r('{{split "a:b:c" ":"}}'), '[a b c]');
  assert.equal(r('{{index (split "img:tag" ":") 1}}'), 'tag');
  assert.equal(r('{{join (split "a b" " ") "-"}}'), 'a-b');
  assert.equal(r('{{join .X ","}}', { X: [1, 2, 3] }), '1,2,3');
  assert.equal(r('{{join .Missing ","}}'), '');
  assert.equal(r('{{title "hello wor-ld foo_bar"}}'), 'Hello Wor-Ld Foo_bar');
  assert.equal(r('{{upper "abc"}} {{lower "ABC"}}'), 'ABC abc');
  assert.equal(r('{{pad "x" 2 1}}|{{pad "" 2 2}}|'), '  x ||');
  assert.equal(r('{{truncate "abcdef" 3}} {{truncate "ab" 3}}'), 'abc ab');
  assert.equal(r('{{.Name | upper | printf "%s!"}}'), '/WEB!');
});

test('header mode returns column names unchanged (docker/cli HeaderFunctions)', () => {
  const t = parseTemplate('{{json .Labels}}\t{{lower .Name}}\t{{truncate .ID 3}}', { header: true });
  assert.equal(t.execute({ Labels: 'LABELS', Name: 'NAME', ID: 'CONTAINER ID' }), 'LABELS\tNAME\tCONTAINER ID');
});

test('a compiled template is reusable across rows', () => {
  const t = parseTemplate('{{.A}}-{{$x := .A}}{{$x}}');
  assert.equal(t.execute({ A: 1 }), '1-1');
  assert.equal(t.execute({ A: 2 }), '2-2');
});

test('syntax errors use docker wording', () => {
  const p = (t: string, msg: string): void => throwsMessage(() => parseTemplate(t), `template parsing error: template: :${msg}`);
  p('{{.Name', '1: unclosed action');
  p('{{if .X}}', '1: unexpected EOF');
  p('{{end}}', '1: unexpected {{end}}');
  p('{{else}}', '1: unexpected {{else}}');
  p('{{nope .X}}', '1: function "nope" not defined');
  p('{{$x}}', '1: undefined variable "$x"');
  p('{{}}', '1: missing value for command');
  p('{{.X | "a"}}', '1: non executable command in pipeline stage 2');
  p('{{"abc}}', '1: unterminated quoted string');
  p('{{/* x */ }}', '1: comment ends before closing delimiter');
  p('{{/* x }}', '1: unclosed comment');
  p('{{(.X}}', '1: unclosed left paren');
  p('{{.X)}}', '1: unexpected right paren');
  p('{{1x}}', '1: bad number syntax: "1x"');
  p('{{break}}', '1: {{break}} outside {{range}}');
  p('{{if}}{{end}}', '1: missing value for if');
  p('{{if .A}}{{else}}{{else}}{{end}}', '1: expected end; found {{else}}');
  p('line1\n{{.A}}\n{{end}}', '3: unexpected {{end}}');
  p('{{$x, $y := .A}}', '1: too many declarations in command');
  p('{{.A %}}', "1: unrecognized character in action: U+0025 '%'");
});

test('execution errors use Go wording with position and node', () => {
  const e = (t: string, msg: string): void => throwsMessage(() => r(t), msg);
  e('{{.State.Health.Status}}', 'template: :1:2: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status');
  e('{{index .Args 5}}', 'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5');
  e('{{.Name.X}}', 'template: :1:2: executing "" at <.Name.X>: can\'t evaluate field X in type string');
  e('{{lower .State.Pid}}', 'template: :1:8: executing "" at <.State.Pid>: wrong type for value; expected string; got int');
  e('{{join .Args}}', 'template: :1:2: executing "" at <join>: wrong number of args for join: want 2 got 1');
  e('{{nil}}', 'template: :1:2: executing "" at <nil>: nil is not a command');
  e('{{range .Name}}x{{end}}', 'template: :1:8: executing "" at <.Name>: range can\'t iterate over /web');
  e('{{index .Missing 0}}', 'template: :1:2: executing "" at <index .Missing 0>: error calling index: index of untyped nil');
  e('{{len 3}}', 'template: :1:2: executing "" at <len 3>: error calling len: len of type int');
  e('{{eq .Args .Args}}', 'template: :1:2: executing "" at <eq .Args .Args>: error calling eq: non-comparable type [-c echo hi]: []interface {}');
  e('{{lt 1 "a"}}', 'template: :1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison');
  e('a\n  {{index .Args 9}}', 'template: :2:4: executing "" at <index .Args 9>: error calling index: index out of range: 9');
});

test('function-valued fields are called like Go methods (formatter contexts)', () => {
  const row = { ID: 'abc', Label: (k: string): string => (k === 'app' ? 'web' : ''), Now: (): string => 'now' };
  assert.equal(r('{{.ID}} {{.Label "app"}}|{{.Label "x"}}| {{.Now}} {{"app" | .Label}}', row), 'abc web|| now web');
  throwsMessage(() => r('{{.Label}}', row), 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0');
  throwsMessage(() => r('{{.ID "x"}}', row), 'template: :1:2: executing "" at <.ID>: ID is not a method but has arguments');
});

test('whole-object json keeps insertion order and leaves <>& alone (docker/cli SetEscapeHTML(false))', () => {
  assert.equal(
    r('{{json .Config}}'),
    '{"Labels":{"foo":"bar","com.example.x":"y","a":"1"},"Env":["PATH=/bin","A=1"],"Cmd":["sh","-c","a<b && c>d"]}',
  );
  assert.equal(r('{{json .}}', { Z: 1, A: null, M: { b: true } }), '{"Z":1,"A":null,"M":{"b":true}}');
});

test('html, urlquery, printf %%, scoped assignment, range else over maps', () => {
  assert.equal(r(`{{html "<a href='x'>&"}}`), '&lt;a href=&#39;x&#39;&gt;&amp;');
  assert.equal(r('{{urlquery "a b&c=d/é"}}'), 'a+b%26c%3Dd%2F%C3%A9');
  assert.equal(r('{{printf "%d%%" 5}}'), '5%');
  assert.equal(r('{{$x := 1}}{{range .Args}}{{$x = 2}}{{end}}{{$x}}'), '2');
  assert.equal(r('{{range $k, $v := .M}}{{$k}}{{else}}none{{end}}', { M: {} }), 'none');
  assert.equal(r('{{range .Mounts}}{{if eq .Destination "/b"}}{{.Source}}{{end}}{{end}}'), '/src/b');
  const t = parseTemplate('{{.Name}}\t{{.Label "app"}}');
  const row = (n: string, app: string): object => ({ Name: n, Label: (k: string): string => (k === 'app' ? app : '') });
  assert.equal(t.execute(row('a', 'web')), 'a\tweb');
  assert.equal(t.execute(row('b', 'db')), 'b\tdb');
});
