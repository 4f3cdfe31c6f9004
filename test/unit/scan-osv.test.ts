import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecosystemForDistro, evaluate, normalizeName, validateRecord, type OsvRecord, type OsvAffected } from '../../src/engine/scan/osv.js';
import { cvss3 } from '../../src/engine/scan/cvss.js';
import { severityOf } from '../../src/engine/scan/severity.js';

/** The scan's severity of a record, with the database's CVSS scorer (throws on a malformed vector, as it does). */
const recordSeverity = (r: OsvRecord, affected?: OsvAffected) =>
  severityOf(r, affected, (v) => {
    const s = cvss3(v);
    if (!s) throw new Error(`not a CVSS v3 vector: ${v}`);
    return s;
  });

function record(raw: unknown): OsvRecord {
  const v = validateRecord(raw);
  if (!('record' in v)) throw new Error(`invalid: ${v.reason}`);
  return v.record;
}

// A Debian record as the Debian security tracker publishes it: the SOURCE package, an ECOSYSTEM range.
const DEB = record({
  id: 'DSA-5532-1',
  modified: '2023-10-26T00:00:00Z',
  aliases: ['CVE-2023-5678'],
  summary: 'openssl - security update',
  affected: [
    { package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }] },
    { package: { ecosystem: 'Debian:11', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.1.1w-0+deb11u1' }] }] },
  ],
});

test('OSV: Debian ECOSYSTEM range — installed below the fix is affected, at or above is not', () => {
  assert.deepEqual(evaluate(DEB, 'Debian:12', 'openssl', '3.0.11-1~deb12u1'), { status: 'affected', fixed: ['3.0.11-1~deb12u2'] });
  assert.deepEqual(evaluate(DEB, 'Debian:12', 'openssl', '3.0.11-1~deb12u2'), { status: 'not-affected' });
  assert.deepEqual(evaluate(DEB, 'Debian:12', 'openssl', '3.0.15-1~deb12u1'), { status: 'not-affected' });
  assert.deepEqual(evaluate(DEB, 'Debian:11', 'openssl', '1.1.1n-0+deb11u5'), { status: 'affected', fixed: ['1.1.1w-0+deb11u1'] });
  assert.deepEqual(evaluate(DEB, 'Debian:12', 'libssl3', '3.0.11-1~deb12u1'), { status: 'not-affected' }, 'Debian records name source packages');
  assert.deepEqual(evaluate(DEB, 'Debian:10', 'openssl', '1.1.1n-0'), { status: 'not-affected' }, 'another release');
});

test('OSV: an unparseable installed version is "unknown", never matched either way', () => {
  const v = evaluate(DEB, 'Debian:12', 'openssl', 'not a version');
  assert.equal(v.status, 'unknown');
  assert.match(v.reason!, /"not a version" is not a valid Debian:12 version/);
  assert.equal(evaluate(DEB, 'crates.io', 'openssl', '1.0').status, 'unknown');
});

test('OSV: SEMVER ranges with several intervals, last_affected, versions[] and pre-releases (npm)', () => {
  const r = record({
    id: 'GHSA-xxxx-yyyy-zzzz',
    modified: '2024-01-01T00:00:00Z',
    affected: [
      {
        package: { ecosystem: 'npm', name: 'lodash', purl: 'pkg:npm/lodash' },
        ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.3' }, { introduced: '2.0.0-beta.1' }, { fixed: '2.1.0' }] }],
        versions: ['0.9.9'],
        database_specific: { severity: 'MODERATE' },
      },
      { package: { ecosystem: 'npm', name: 'minimist' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { last_affected: '1.2.5' }] }] },
    ],
  });
  const st = (name: string, v: string): string => evaluate(r, 'npm', name, v).status;
  assert.equal(st('lodash', '0.5.0'), 'not-affected');
  assert.equal(st('lodash', '0.9.9'), 'affected', 'listed in versions[]');
  assert.deepEqual(evaluate(r, 'npm', 'lodash', '1.0.0'), { status: 'affected', fixed: ['1.2.3'] });
  assert.equal(st('lodash', '1.2.3-rc.1'), 'affected', 'a pre-release of the fix is still affected');
  assert.equal(st('lodash', '1.2.3'), 'not-affected');
  assert.equal(st('lodash', '1.9.0'), 'not-affected', 'between the two intervals');
  assert.equal(st('lodash', '2.0.0-alpha'), 'not-affected');
  assert.deepEqual(evaluate(r, 'npm', 'lodash', '2.0.0'), { status: 'affected', fixed: ['2.1.0'] });
  assert.equal(st('minimist', '1.2.5'), 'affected');
  assert.equal(st('minimist', '1.2.6'), 'not-affected');
  assert.deepEqual(evaluate(r, 'npm', 'minimist', '1.0.0'), { status: 'affected' }, 'no fix known');
  assert.equal(st('lodash', 'latest'), 'unknown');
  assert.deepEqual(recordSeverity(r, r.affected[0]), { severity: 'MEDIUM', source: 'database_specific' });
});

test('OSV: PyPI names are normalised, versions compared by PEP 440; Go by module semver; Alpine by apk', () => {
  const py = record({
    id: 'PYSEC-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'PyPI', name: 'Jinja2' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.1.3' }] }] }],
  });
  assert.equal(evaluate(py, 'PyPI', 'jinja2', '3.1.2').status, 'affected');
  assert.equal(evaluate(py, 'PyPI', 'JINJA2', '3.1.3rc1').status, 'affected');
  assert.equal(evaluate(py, 'PyPI', 'jinja2', '3.1.3.post1').status, 'not-affected');
  assert.equal(normalizeName('PyPI', 'Foo_Bar.baz'), 'foo-bar-baz');
  const go = record({
    id: 'GO-2024-0001',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'Go', name: 'golang.org/x/net' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }] }],
  });
  assert.equal(evaluate(go, 'Go', 'golang.org/x/net', 'v0.0.0-20220722155237-a158d28d115b').status, 'affected');
  assert.equal(evaluate(go, 'Go', 'golang.org/x/net', 'v0.17.0').status, 'not-affected');
  assert.equal(evaluate(go, 'Go', 'golang.org/x/net', '(devel)').status, 'unknown');
  const apk = record({
    id: 'ALPINE-CVE-2023-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'Alpine:v3.19', name: 'busybox' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.36.1-r17' }] }] }],
  });
  assert.deepEqual(evaluate(apk, 'Alpine:v3.19', 'busybox', '1.36.1-r15'), { status: 'affected', fixed: ['1.36.1-r17'] });
  assert.equal(evaluate(apk, 'Alpine:v3.19', 'busybox', '1.36.1-r17').status, 'not-affected');
});

test('OSV: withdrawn records affect nothing; severities from CVSS v3 vectors', () => {
  const r = record({
    id: 'X-1',
    modified: '2024-01-01T00:00:00Z',
    withdrawn: '2024-02-01T00:00:00Z',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }],
  });
  assert.equal(evaluate(r, 'npm', 'a', '1.0.0').status, 'not-affected');
  assert.deepEqual(recordSeverity(r), { severity: 'CRITICAL', score: 9.8, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'cvss_v3' });
  assert.deepEqual(recordSeverity(record({ id: 'X-2', modified: 'x', affected: r.affected })), { severity: 'UNKNOWN' });
});

test('OSV validation: unknown ecosystems and malformed ranges are skipped with a reason; GIT ranges ignored', () => {
  const base = { id: 'R-1', modified: '2024-01-01T00:00:00Z' };
  const skip = (raw: unknown): string => {
    const v = validateRecord(raw);
    return 'skip' in v ? `${v.skip}: ${v.reason}` : 'ok';
  };
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'crates.io', name: 'x' } }] }), /^unknown-ecosystem: R-1: ecosystem "crates.io"/);
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [{ introduced: 'one' }] }] }] }), /^malformed: .*"one" is not a npm version/);
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [{ fixed: '1.0.0' }] }] }] }), /no "introduced" event/);
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.0' }] }] }] }), /exactly one of/);
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: [{ type: 'WEIRD', events: [] }] }] }), /unknown range type "WEIRD"/);
  assert.match(skip({ ...base, affected: [{ package: { ecosystem: 'npm', name: 'x' }, ranges: 'nope' }] }), /"ranges" of x is not a list/);
  assert.match(skip({ ...base, affected: 'x' }), /"affected" is not a list/);
  assert.match(skip({ ...base }), /^no-affected/);
  assert.match(skip({ modified: 'x' }), /no "id"/);
  assert.match(skip(null), /not a JSON object/);
  assert.match(skip([1]), /not a JSON object/);
  const git = validateRecord({ ...base, affected: [{ package: { ecosystem: 'Go', name: 'x' }, ranges: [{ type: 'GIT', repo: 'https://x', events: [{ introduced: 'abc' }] }, { type: 'SEMVER', events: [{ introduced: '0' }] }] }] });
  assert.ok('record' in git && git.record.affected[0]!.ranges.length === 1 && git.record.affected[0]!.ranges[0]!.type === 'SEMVER');
  // A record with one unknown and one known ecosystem keeps the known one.
  const mixed = validateRecord({ ...base, affected: [{ package: { ecosystem: 'Maven', name: 'x' } }, { package: { ecosystem: 'npm', name: 'y' }, versions: ['1.0.0'] }] });
  assert.ok('record' in mixed && mixed.record.affected.length === 1);
});

test('OSV: the ecosystem of an image distro', () => {
  assert.equal(ecosystemForDistro({ id: 'debian', versionId: '12' }), 'Debian:12');
  assert.equal(ecosystemForDistro({ id: 'alpine', versionId: '3.19.1' }), 'Alpine:v3.19');
  assert.equal(ecosystemForDistro({ id: 'debian' }), undefined);
  assert.equal(ecosystemForDistro({ id: 'fedora', versionId: '39' }), undefined);
});
