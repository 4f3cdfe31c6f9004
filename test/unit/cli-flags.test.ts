import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags, formatFlagHelp, type FlagSpec } from '../../src/cli/flags.js';

const SPECS: FlagSpec[] = [
  { name: 'interactive', short: 'i', type: 'bool', description: 'Keep STDIN open' },
  { name: 'tty', short: 't', type: 'bool', description: 'Allocate a pseudo-TTY' },
  { name: 'detach', short: 'd', type: 'bool', description: 'Detach' },
  { name: 'publish', short: 'p', type: 'stringArray', description: 'Publish' },
  { name: 'env', short: 'e', type: 'stringArray', description: 'Env' },
  { name: 'name', type: 'string', description: 'Name' },
  { name: 'rm', type: 'bool', description: 'Remove' },
  { name: 'time', short: 'n', type: 'int', description: 'Seconds' },
  { name: 'cpus', type: 'float', description: 'CPUs' },
  { name: 'sig-proxy', type: 'bool', default: true, description: 'Proxy' },
  { name: 'hostname', short: 'h', type: 'string', description: 'Host name' },
];

const RUN = { stopAtFirstArg: true };

function flagError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FlagError, `expected FlagError, got ${String(err)}`);
    assert.equal(err.exitCode, 125);
    return err.message;
  }
  assert.fail('no error thrown');
}

test('combined shorthand booleans -it', () => {
  const f = parseFlags(SPECS, ['-it', 'busybox'], RUN);
  assert.equal(f.bool('interactive'), true);
  assert.equal(f.bool('tty'), true);
  assert.deepEqual(f.args, ['busybox']);
});

test('shorthand with attached value -p8080:80 and -e=X', () => {
  const f = parseFlags(SPECS, ['-p8080:80', '-e=X', '-dp', '90:90', 'img'], RUN);
  assert.deepEqual(f.list('publish'), ['8080:80', '90:90']);
  assert.deepEqual(f.list('env'), ['X']);
  assert.equal(f.bool('detach'), true);
});

test('long flags --name=x and --name x', () => {
  assert.equal(parseFlags(SPECS, ['--name=x', 'img'], RUN).str('name'), 'x');
  assert.equal(parseFlags(SPECS, ['--name', 'y', 'img'], RUN).str('name'), 'y');
  assert.equal(parseFlags(SPECS, ['--name=', 'img'], RUN).str('name'), '');
  assert.ok(parseFlags(SPECS, ['--name=', 'img'], RUN).has('name'));
});

test('--bool=false, --bool=true and defaults', () => {
  assert.equal(parseFlags(SPECS, ['--rm=false'], {}).bool('rm'), false);
  assert.equal(parseFlags(SPECS, ['--rm=true'], {}).bool('rm'), true);
  assert.equal(parseFlags(SPECS, [], {}).bool('sig-proxy'), true);
  assert.equal(parseFlags(SPECS, ['--sig-proxy=false'], {}).bool('sig-proxy'), false);
  assert.equal(parseFlags(SPECS, ['-i=false'], {}).bool('interactive'), false);
});

test('repeated stringArray flags accumulate in order', () => {
  const f = parseFlags(SPECS, ['-e', 'A=1', '--env', 'B=2', '-eC=3'], {});
  assert.deepEqual(f.list('env'), ['A=1', 'B=2', 'C=3']);
});

test('run stops at the first positional: the command keeps its flags', () => {
  const f = parseFlags(SPECS, ['--rm', 'busybox', 'ls', '-l', '--name', 'x'], RUN);
  assert.deepEqual(f.args, ['busybox', 'ls', '-l', '--name', 'x']);
  assert.equal(f.str('name'), '');
});

test('other commands accept interspersed flags', () => {
  const f = parseFlags(SPECS, ['a', '--rm', 'b', '-n', '3'], {});
  assert.deepEqual(f.args, ['a', 'b']);
  assert.equal(f.num('time'), 3);
});

test('-- ends the flags', () => {
  const f = parseFlags(SPECS, ['--rm', '--', '-i', 'x'], {});
  assert.deepEqual(f.args, ['-i', 'x']);
  assert.equal(f.bool('interactive'), false);
});

test('a lone - is a positional', () => {
  assert.deepEqual(parseFlags(SPECS, ['-', 'x'], {}).args, ['-', 'x']);
});

test('--help and -h ask for help unless -h is a flag of the command', () => {
  assert.equal(parseFlags(SPECS, ['--help'], {}).help, true);
  assert.equal(parseFlags(SPECS.filter((s) => s.short !== 'h'), ['-h'], {}).help, true);
  const f = parseFlags(SPECS, ['-h', 'box', 'img'], RUN);
  assert.equal(f.help, false);
  assert.equal(f.str('hostname'), 'box');
});

test('unknown flags use pflag wording', () => {
  assert.equal(flagError(() => parseFlags(SPECS, ['--foo'], {})), 'unknown flag: --foo');
  assert.equal(flagError(() => parseFlags(SPECS, ['--foo=1'], {})), 'unknown flag: --foo');
  assert.equal(flagError(() => parseFlags(SPECS, ['-z'], {})), "unknown shorthand flag: 'z' in -z");
  assert.equal(flagError(() => parseFlags(SPECS, ['-itz'], {})), "unknown shorthand flag: 'z' in -itz");
});

test('missing values', () => {
  assert.equal(flagError(() => parseFlags(SPECS, ['--name'], {})), 'flag needs an argument: --name');
  assert.equal(flagError(() => parseFlags(SPECS, ['-p'], {})), "flag needs an argument: 'p' in -p");
});

test('bad values name the flag as pflag does', () => {
  assert.equal(
    flagError(() => parseFlags(SPECS, ['--rm=maybe'], {})),
    'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  );
  assert.equal(
    flagError(() => parseFlags(SPECS, ['-n', 'x'], {})),
    'invalid argument "x" for "-n, --time" flag: strconv.ParseInt: parsing "x": invalid syntax',
  );
  assert.equal(
    flagError(() => parseFlags(SPECS, ['--cpus', 'lots'], {})),
    'invalid argument "lots" for "--cpus" flag: strconv.ParseFloat: parsing "lots": invalid syntax',
  );
  assert.equal(parseFlags(SPECS, ['--cpus', '1.5'], {}).num('cpus'), 1.5);
});

test('size flags: invalid sizes are reported like docker', () => {
  const specs: FlagSpec[] = [{ name: 'memory', short: 'm', type: 'size', description: 'Memory limit' }];
  assert.equal(flagError(() => parseFlags(specs, ['-m', 'x'], {})), `invalid argument "x" for "-m, --memory" flag: invalid size: 'x'`);
});

test('help lists options sorted, with type names and defaults', () => {
  const help = formatFlagHelp(SPECS);
  const lines = help.split('\n');
  assert.match(lines[0] ?? '', /^ {6}--cpus decimal +CPUs$/);
  assert.match(lines[1] ?? '', /^ {2}-d, --detach +Detach$/);
  assert.ok(help.includes('  -e, --env list'));
  assert.ok(help.includes('      --name string'));
  assert.ok(help.includes('Proxy (default true)'));
});
