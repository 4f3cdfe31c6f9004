import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runProcessSync } from '../../src/lib/exec.js';
import { compareDpkg, parseDpkg } from '../../src/engine/scan/versions/dpkg.js';
import { compareApk, isApkVersion } from '../../src/engine/scan/versions/apk.js';
import { compareSemver, parseSemver } from '../../src/engine/scan/versions/semver.js';
import { comparePep440, normalizePep440, parsePep440 } from '../../src/engine/scan/versions/pep440.js';
import { compareGo, pseudoVersion } from '../../src/engine/scan/versions/go.js';
import { COMPARATORS, schemeOf } from '../../src/engine/scan/versions/index.js';

/** Assert that the list is strictly increasing under cmp (every pair, both directions). */
function ascending(cmp: (a: string, b: string) => number | null, list: string[]): void {
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < list.length; j++) {
      const want = Math.sign(i - j);
      assert.equal(cmp(list[i]!, list[j]!), want, `${list[i]} vs ${list[j]}: want ${want}`);
    }
  }
}

// A deterministic generator (xorshift) so a failure can be reproduced.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function dpkgVersion(r: () => number): string {
  const pick = (s: string): string => s[Math.floor(r() * s.length)]!;
  const part = (first: boolean, alphabet: string): string => {
    let s = first ? pick('0123456789') : '';
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) s += r() < 0.45 ? pick('0123456789') : pick(alphabet);
    return s;
  };
  let v = r() < 0.2 ? `${Math.floor(r() * 3)}:` : '';
  v += part(true, 'ab~.+z0Z');
  if (r() < 0.6) v += '-' + (part(false, 'ab~.+z') || '1');
  return v;
}

/** A near neighbour: the same version with one character changed, added or removed (so comparisons
 * are decided late, where the interesting rules are). */
function mutate(v: string, r: () => number): string {
  const alphabet = '0123456789ab~.+';
  const i = Math.floor(r() * (v.length + 1));
  const c = alphabet[Math.floor(r() * alphabet.length)]!;
  const k = r();
  const out = k < 0.4 ? v.slice(0, i) + c + v.slice(i) : k < 0.8 ? v.slice(0, i) + c + v.slice(i + 1) : v.slice(0, i) + v.slice(i + 1);
  return parseDpkg(out) ? out : v + '~';
}

test('dpkg: agrees with `dpkg --compare-versions` on 2,000 generated pairs', { skip: !existsSync('/usr/bin/dpkg') && 'dpkg not installed' }, () => {
  const r = rng(20261205);
  const pairs: Array<[string, string]> = [];
  while (pairs.length < 2000) {
    const a = dpkgVersion(r);
    const b = r() < 0.6 ? mutate(a, r) : dpkgVersion(r);
    if (parseDpkg(a) && parseDpkg(b)) pairs.push([a, b]);
  }
  // One shell runs every comparison, one dpkg process per pair: it checks the relation berth computed
  // (lt, eq or gt; exactly one holds), so a 0 exit for each proves the three-way answer.
  const ops = ['lt', 'eq', 'gt'];
  const mine = pairs.map(([a, b]) => compareDpkg(a, b)!);
  const script = pairs.map(([a, b], i) => `dpkg --compare-versions '${a}' ${ops[mine[i]! + 1]} '${b}' && echo ok || echo no`).join('\n');
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-dpkg-'));
  try {
    writeFileSync(path.join(dir, 'cmp.sh'), script + '\n');
    const res = runProcessSync('sh', [path.join(dir, 'cmp.sh')], { encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(res.status, 0, res.stderr);
    const got = res.stdout.trim().split('\n');
    assert.equal(got.length, pairs.length);
    const wrong = pairs.filter((_, i) => got[i] !== 'ok').map((p) => `${p[0]} vs ${p[1]}: berth says ${compareDpkg(p[0], p[1])}, dpkg disagrees`);
    assert.deepEqual(wrong, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dpkg: epochs, tildes, revisions (deb-version(7) examples)', () => {
  ascending(compareDpkg, ['1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0-2', '1.0a', '1.1', '1:0.9', '2:0.1']);
  ascending(compareDpkg, ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a']);
  assert.equal(compareDpkg('0:1.2-3', '1.2-3'), 0);
  assert.equal(compareDpkg('1.002', '1.2'), 0);
  assert.equal(compareDpkg('3.0.11-1~deb12u2', '3.0.11-1'), -1);
  assert.equal(compareDpkg('2.36-9+deb12u4', '2.36-9+deb12u10'), -1);
});

test('dpkg: a string that is not a Debian version is unparseable, never compared', () => {
  for (const bad of ['', ' ', 'abc', 'a:1.0', '1.0-', '1.0 2', ':1.0', '1:', 'é1', '1.0-a_b']) {
    assert.equal(parseDpkg(bad), null, bad);
    assert.equal(compareDpkg(bad, '1.0'), null, bad);
  }
  assert.equal(parseDpkg(undefined as unknown as string), null);
});

test('apk: apk-tools ordering of suffixes, letters, revisions and leading zeros', () => {
  ascending(compareApk, ['1.1_alpha', '1.1_alpha2', '1.1_beta', '1.1_pre1', '1.1_rc1', '1.1', '1.1-r1', '1.1_cvs', '1.1_git20200101', '1.1_p1', '1.1a', '1.1b', '1.2']);
  ascending(compareApk, ['0.1.0_alpha_pre2', '0.1.0_alpha', '0.1.0_alpha2', '0.1.3_alpha', '2.2.39-r1']);
  ascending(compareApk, ['1.0.0_pre20191002222144-r0', '1.0.0_pre20210530193627-r0']);
  ascending(compareApk, ['0.98', '1.00', '1.02', '1.07', '1.07.5', '006', '013', '021109-r3', '20060512']);
  ascending(compareApk, ['2.12r-r4', '2.12r-r5', '20040406-r1']);
  // apk-tools' leading-zero rule: after a zero component the next token is read as digits, so a suffix
  // there makes the version longer, not a pre-release (1.0_rc1 sorts after 1.0, as apk itself says).
  assert.equal(compareApk('1.0_rc1', '1.0'), 1);
  ascending(compareApk, ['3.0.11-r0', '3.0.11-r1', '3.0.12-r0', '3.1.4-r5', '3.1.4-r10']);
  ascending(compareApk, ['1.01', '1.1', '1.2']);
  ascending(compareApk, ['1.2.3_rc1-r0', '1.2.3-r0', '1.2.3_p1-r0']);
  assert.equal(compareApk('1.36.1-r15', '1.36.1-r15'), 0);
  assert.equal(compareApk('2.4', '2.4.0'), -1);
});

test('apk: invalid versions are unparseable', () => {
  for (const bad of ['', '1.0-1', '1.0_foo', '1.0-rx', '1..0a.b', 'A', '1.0+1', '1.0 ']) {
    assert.equal(isApkVersion(bad), false, bad);
    assert.equal(compareApk(bad, '1.0'), null, bad);
  }
});

test('semver: the precedence example of semver.org §11', () => {
  ascending(compareSemver, ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0']);
  ascending(compareSemver, ['1.0.0', '2.0.0', '2.1.0', '2.1.1']);
  assert.equal(compareSemver('1.0.0+build.1', '1.0.0+build.2'), 0, 'build metadata is ignored');
  assert.equal(compareSemver('1.0.0-alpha+001', '1.0.0-alpha'), 0);
  assert.equal(compareSemver('v1.2.3', '1.2.3'), 0, 'node-semver accepts a leading v');
});

test('semver: node-semver orderings (numeric ids below alphanumeric, longer list higher, big numbers)', () => {
  ascending(compareSemver, ['1.2.3-0', '1.2.3-1', '1.2.3-1.0', '1.2.3-a', '1.2.3-a.0', '1.2.3-b', '1.2.3-beta', '1.2.3']);
  ascending(compareSemver, ['9.9.9', '10.0.0', '99999999999999999999.0.0']);
  ascending(compareSemver, ['1.0.0-2', '1.0.0-10', '1.0.0-1a']);
});

test('semver: invalid versions (semver.org grammar) are unparseable', () => {
  for (const bad of ['1', '1.2', '01.2.3', '1.02.3', '1.2.3-01', '1.2.3-', '1.2.3+', '1.2.3-a..b', 'latest', '1.2.3.4', '^1.2.3']) {
    assert.equal(parseSemver(bad), null, bad);
    assert.equal(compareSemver(bad, '1.0.0'), null, bad);
  }
});

test('PEP 440: the specification\'s ordering example and normalisation', () => {
  // PEP 440 "Summary of permitted suffixes and relative ordering" example.
  ascending(comparePep440, ['1.dev0', '1.0.dev456', '1.0a1', '1.0a2.dev456', '1.0a12.dev456', '1.0a12', '1.0b1.dev456', '1.0b2', '1.0b2.post345.dev456', '1.0b2.post345', '1.0rc1.dev456', '1.0rc1', '1.0', '1.0+abc.5', '1.0+abc.7', '1.0+5', '1.0.post456.dev34', '1.0.post456', '1.0.15', '1.1.dev1']);
  assert.equal(comparePep440('1.0', '1.0.0'), 0, 'trailing zeros are insignificant');
  assert.equal(comparePep440('1!1.0', '2.0'), 1, 'epoch first');
  const norm: Array<[string, string]> = [
    ['1.0ALPHA1', '1.0a1'],
    ['1.0-beta.2', '1.0b2'],
    ['1.0c1', '1.0rc1'],
    ['1.0pre1', '1.0rc1'],
    ['1.0preview', '1.0rc0'],
    ['1.0-1', '1.0.post1'],
    ['1.0.rev1', '1.0.post1'],
    ['1.0r', '1.0.post0'],
    ['1.0-dev', '1.0.dev0'],
    ['v1.0', '1.0'],
    ['1.0+ubuntu-1', '1.0+ubuntu.1'],
    ['1.0+Ubuntu_1', '1.0+ubuntu.1'],
    [' 1.0 ', '1.0'],
    ['0!1.0', '1.0'],
  ];
  for (const [input, want] of norm) assert.equal(normalizePep440(input), want, input);
  assert.equal(comparePep440('1.0a1', '1.0alpha1'), 0);
});

test('PEP 440: invalid versions are unparseable', () => {
  for (const bad of ['', 'french toast', '1.0+', '1.0+a..b', '1.0.', '.1', '1.0-', 'v', '1,0']) {
    assert.equal(parsePep440(bad), null, bad);
    assert.equal(comparePep440(bad, '1.0'), null, bad);
  }
});

test('Go: module versions, pseudo-versions and +incompatible', () => {
  ascending(compareGo, [
    'v0.0.0-20190101000000-aaaaaaaaaaaa',
    'v0.0.0-20191109021931-daa7c04131f5',
    'v0.1.0',
    'v1.2.3-pre',
    'v1.2.3-pre.0.20200101000000-bbbbbbbbbbbb',
    'v1.2.3',
    'v1.2.4-0.20200101000000-cccccccccccc',
    'v1.2.4',
  ]);
  assert.equal(compareGo('v2.0.0+incompatible', '2.0.0'), 0);
  assert.equal(compareGo('1.20.1', 'v1.20.1'), 0, "OSV writes Go versions without the v");
  assert.deepEqual(pseudoVersion('v0.0.0-20191109021931-daa7c04131f5'), { time: '20191109021931', revision: 'daa7c04131f5' });
  assert.equal(pseudoVersion('v1.2.3'), null);
  for (const bad of ['(devel)', 'v1', 'v1.2', 'v1.2.3+meta', 'master']) assert.equal(compareGo(bad, 'v1.0.0'), null, bad);
});

test('ecosystems map to their version schemes; unknown ones to none', () => {
  assert.equal(schemeOf('Debian:12'), 'dpkg');
  assert.equal(schemeOf('Alpine:v3.19'), 'apk');
  assert.equal(schemeOf('npm'), 'semver');
  assert.equal(schemeOf('PyPI'), 'pep440');
  assert.equal(schemeOf('Go'), 'go');
  assert.equal(schemeOf('crates.io'), undefined);
  for (const c of Object.values(COMPARATORS)) assert.equal(c(null as unknown as string, '1'), null, 'non-strings are unparseable, not a TypeError');
});

test('PEP 440: agrees with the packaging library on generated pairs', { skip: !pythonPackaging() && 'python3 with packaging not available' }, () => {
  const r = rng(42);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const gen = (): string =>
    `${r() < 0.1 ? '1!' : ''}${pick(['1', '1.0', '1.0.0', '2', '1.1', '0.9'])}${r() < 0.4 ? pick(['a', 'b', 'rc', 'c', '.alpha', '-beta']) + pick(['', '0', '1', '2']) : ''}${r() < 0.3 ? pick(['.post', '-', 'rev']) + pick(['1', '2']) : ''}${r() < 0.3 ? pick(['.dev', 'dev']) + pick(['', '0', '3']) : ''}${r() < 0.2 ? '+' + pick(['abc', '5', 'abc.5', '1.a', 'ubuntu-1']) : ''}`;
  const pairs = Array.from({ length: 1500 }, () => [gen(), gen()] as const);
  const py = `import sys,json\nfrom packaging.version import Version\nfor a,b in json.load(sys.stdin):\n  x,y=Version(a),Version(b)\n  print(-1 if x<y else (0 if x==y else 1))\n`;
  const res = runProcessSync('python3', ['-c', py], { input: JSON.stringify(pairs), encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const got = res.stdout.trim().split('\n').map(Number);
  const wrong = pairs.filter((p, i) => comparePep440(p[0], p[1]) !== got[i]).map((p) => `${p[0]} vs ${p[1]}`);
  assert.deepEqual(wrong, []);
});

function pythonPackaging(): boolean {
  try {
    return runProcessSync('python3', ['-c', 'import packaging.version'], { encoding: 'utf8' }).status === 0;
  } catch {
    return false;
  }
}
