// `berth scan` end to end on one daemon: an image with planted Debian and npm packages, OSV records
// written for exactly those packages (plus records that must not match: other releases, fixed versions
// below the installed one, a withdrawn record), imported with `berth scan db import`; the scan finds
// exactly the planted records, in every way an image can be given (stored, `--input` archive, remote
// from `berth registry serve`), and gates a CI job with --severity/--exit-code/--ignorefile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { busyboxTar, TestDaemon } from './harness.js';
import { startRegistryServe, type RegistryServe } from '../support/registry-serve.js';
import { appImageTar, osv, writeOsvDir } from '../support/scan-fixture.js';
import type { ScanReport } from '../../src/api/scan.js';
import { importPath } from '../../src/engine/scan/db.js';

const DEBS = [
  { name: 'libsslx3', version: '3.0.11-1~deb12u2', source: 'opensslx' },
  { name: 'opensslx', version: '3.0.11-1~deb12u2' },
  { name: 'zlibx1g', version: '1:1.2.13.dfsg-1', source: 'zlibx' },
  { name: 'busyboxx', version: '1:1.35.0-4+b3', source: 'busyboxx', sourceVersion: '1:1.35.0-4' },
];
const NPM = [
  { name: 'left-padx', version: '1.1.0' },
  { name: 'lodashx', version: '4.17.21' },
];
const CRITICAL = { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] };
const RECORDS = [
  // Found: the source package opensslx (both binaries), zlibx (last_affected, LOW), busyboxx by its source version, left-padx (HIGH).
  osv('DSA-9001-1', 'Debian:12', 'opensslx', { fixed: '3.0.13-1~deb12u1' }, { ...CRITICAL, aliases: ['CVE-2099-0001'] }),
  osv('DLA-9002-1', 'Debian:12', 'zlibx', { last_affected: '1:1.2.13.dfsg-1' }, { database_specific: { severity: 'LOW' } }),
  osv('DSA-9003-1', 'Debian:12', 'busyboxx', { fixed: '1:1.35.0-4+deb12u1' }, { database_specific: { severity: 'MEDIUM' } }),
  osv('GHSA-plnt-0001-0001', 'npm', 'left-padx', { fixed: '1.3.0' }, { database_specific: { severity: 'HIGH' }, aliases: ['CVE-2099-0002'] }),
  // Not found: another release, fixed before the installed version, a binary package name, withdrawn, another version.
  osv('DSA-9100-1', 'Debian:11', 'opensslx', { fixed: '9.9' }),
  osv('DSA-9101-1', 'Debian:12', 'opensslx', { fixed: '3.0.2-1' }),
  osv('DSA-9102-1', 'Debian:12', 'libsslx3', { fixed: '9.9' }),
  osv('GHSA-plnt-0002-0002', 'npm', 'left-padx', { fixed: '9.9.9' }, { withdrawn: '2026-01-02T00:00:00Z' }),
  osv('GHSA-plnt-0003-0003', 'npm', 'lodashx', { fixed: '4.17.21' }),
];
const EXPECTED = ['busyboxx DSA-9003-1', 'left-padx GHSA-plnt-0001-0001', 'libsslx3 DSA-9001-1', 'opensslx DSA-9001-1', 'zlibx1g DLA-9002-1'];

/** `berth scan db import DIR` (vulndb's command; until it is on this branch, its importer into berthd's root). */
async function importDb(d: TestDaemon, dir: string): Promise<void> {
  await importPath(path.join(d.root, 'vulndb'), dir);
}

const found = (r: ScanReport): string[] =>
  r.Results.flatMap((t) => (t.Vulnerabilities ?? []).map((v) => `${v.PkgName} ${v.VulnerabilityID}`)).sort();

describe('berth scan', () => {
  let d: TestDaemon;
  let work: string;
  before(async () => {
    d = await TestDaemon.start();
    work = path.join(d.dir, 'scan');
    await fs.mkdir(work);
    const tar = await appImageTar(await busyboxTar(), work, DEBS, NPM);
    const r = await d.berth(['import', tar, 'scanapp:1']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => d.cleanup());

  it('without a database, says how to import one', async () => {
    const r = await d.berth(['scan', 'scanapp:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no vulnerability database has been imported: run `berth scan db import FILE\|DIR`/);
  });

  it('finds exactly the planted records', async () => {
    await writeOsvDir(path.join(work, 'osv'), RECORDS);
    await importDb(d, path.join(work, 'osv'));
    const r = await d.berth(['scan', '--format', 'json', 'scanapp:1']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as ScanReport;
    assert.deepEqual(found(report), EXPECTED);
    assert.deepEqual(report.Results.map((t) => [t.Target, t.Class, t.Type]), [['scanapp:1 (debian 12)', 'os-pkgs', 'debian'], ['Node.js', 'lang-pkgs', 'node-pkg']]);
    const ssl = report.Results[0]!.Vulnerabilities!.find((v) => v.PkgName === 'libsslx3')!;
    assert.deepEqual([ssl.Severity, ssl.InstalledVersion, ssl.FixedVersion, ssl.Status, ssl.PkgSrcName], ['CRITICAL', '3.0.11-1~deb12u2', '3.0.13-1~deb12u1', 'fixed', 'opensslx']);
    const table = await d.berth(['scan', 'scanapp:1']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^scanapp:1 \(debian 12\)\n=+\nTotal: 4 \(UNKNOWN: 0, LOW: 1, MEDIUM: 1, HIGH: 0, CRITICAL: 2\)\n\nLIBRARY +VULNERABILITY +SEVERITY +INSTALLED +FIXED +TITLE\n/m);
    assert.match(table.stdout, /^left-padx +GHSA-plnt-0001-0001 +HIGH +1\.1\.0 +1\.3\.0 +left-padx: planted vulnerability/m);
  });

  it('gates with --severity and --exit-code, and honours an ignore file', async () => {
    const gate = await d.berth(['scan', '--severity', 'HIGH,CRITICAL', '--exit-code', '1', '--format', 'json', 'scanapp:1']);
    assert.equal(gate.code, 1);
    assert.deepEqual(found(JSON.parse(gate.stdout) as ScanReport), ['left-padx GHSA-plnt-0001-0001', 'libsslx3 DSA-9001-1', 'opensslx DSA-9001-1']);
    // The CVE aliases name both; the gate opens.
    await fs.writeFile(path.join(work, '.berthignore'), '# accepted until the next release\nCVE-2099-0001 exp:2999-01-01\nCVE-2099-0002 pkg:left-padx\n');
    const open = await d.berth(['scan', '--severity', 'HIGH,CRITICAL', '--exit-code', '1', 'scanapp:1'], { cwd: work });
    assert.equal(open.code, 0, open.stdout + open.stderr);
    const unfixed = await d.berth(['scan', '--ignore-unfixed', '--format', 'json', 'scanapp:1']);
    assert.ok(!found(JSON.parse(unfixed.stdout) as ScanReport).includes('zlibx1g DLA-9002-1'));
  });

  it('scans a `berth save` archive the same, storing nothing', async () => {
    const archive = path.join(work, 'app.tar');
    const save = await d.berth(['save', '-o', archive, 'scanapp:1']);
    assert.equal(save.code, 0, save.stderr);
    const before = (await d.berth(['images', '-q'])).stdout;
    const r = await d.berth(['scan', '--input', archive, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(found(JSON.parse(r.stdout) as ScanReport), EXPECTED);
    assert.equal((await d.berth(['images', '-q'])).stdout, before);
    // Not an image archive: named, nothing left behind.
    const notTar = path.join(work, 'notes.txt');
    await fs.writeFile(notTar, 'not an archive\n');
    const bad = await d.berth(['scan', '--input', notTar]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /notes\.txt: not a readable image archive/);
    assert.doesNotMatch(bad.stderr, /TypeError|ENOENT/);
    assert.deepEqual(await fs.readdir(path.join(d.root, 'tmp')), []);
  });

  it('scans a remote reference from berth registry serve, storing nothing', async () => {
    let reg: RegistryServe | undefined;
    try {
      reg = await startRegistryServe(path.join(work, 'registry'));
      const ref = `${reg.host}/scanapp:1`;
      assert.equal((await d.berth(['tag', 'scanapp:1', ref])).code, 0);
      const push = await d.berth(['push', ref]);
      assert.equal(push.code, 0, push.stderr);
      assert.equal((await d.berth(['rmi', ref])).code, 0);
      const before = (await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout;
      const r = await d.berth(['scan', '--format', 'json', ref]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(found(JSON.parse(r.stdout) as ScanReport), EXPECTED);
      assert.equal((await d.berth(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, before);
    } finally {
      await reg?.stop();
    }
  });

  it('an unknown image is named, with what to do', async () => {
    const r = await d.berth(['scan', 'nosuchimage:1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No such image: nosuchimage:1/);
  });
});
