// Matching an image's inventory against OSV records: synthetic ImageSbom + synthetic records, through a
// small VulnSource whose evaluation follows OSV's range rules over dotted-number versions (the real
// comparators and evaluation are tested with the database; here the matcher's own rules are).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageSbom, Package } from '../../src/api/sbom.js';
import { allFindings, filterReport, parseSeverities, type ScanReport } from '../../src/api/scan.js';
import { matchSbom } from '../../src/engine/scan/match.js';
import { matchKey, normalizePyPI, osEcosystem } from '../../src/engine/scan/ecosystem.js';
import { severityOf } from '../../src/engine/scan/severity.js';
import { namesRegistry, NO_DATABASE, ScanService, type InventorySource } from '../../src/engine/scan/scanner.js';
import type { Evaluation, OsvRecord, VulnSource } from '../../src/engine/scan/source.js';
import { NotFound, Unavailable } from '../../src/lib/errors.js';
import { openDatabase } from '../../src/engine/scan/database.js';
import { importPath } from '../../src/engine/scan/db.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const NUM = /^\d+(\.\d+)*$/;
function cmp(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** OSV's evaluation over dotted numbers: versions list, then ECOSYSTEM/SEMVER ranges (introduced, fixed, last_affected). */
function evaluate(record: OsvRecord, ecosystem: string, name: string, version: string): Evaluation {
  if (!NUM.test(version)) return { status: 'unknown' };
  const fixed: string[] = [];
  let hit = false;
  for (const a of record.affected ?? []) {
    if (a.package?.ecosystem !== ecosystem || a.package.name !== name) continue;
    if (a.versions?.includes(version)) hit = true;
    for (const r of a.ranges ?? []) {
      let introduced: string | undefined;
      for (const ev of r.events) {
        if (ev.introduced !== undefined) introduced = ev.introduced;
        const end = ev.fixed ?? ev.last_affected;
        if (end === undefined || introduced === undefined) continue;
        const inRange = (introduced === '0' || cmp(version, introduced) >= 0) && (ev.fixed ? cmp(version, end) < 0 : cmp(version, end) <= 0);
        if (inRange) {
          hit = true;
          if (ev.fixed) fixed.push(ev.fixed);
        }
        introduced = undefined;
      }
      if (introduced !== undefined && (introduced === '0' || cmp(version, introduced) >= 0)) hit = true;
    }
  }
  return hit ? { status: 'affected', fixed } : { status: 'not-affected' };
}

function source(records: OsvRecord[]): VulnSource & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    lookup: (eco, name) => {
      lookups.push(`${eco}/${name}`);
      return records.filter((r) => r.affected?.some((a) => a.package?.ecosystem === eco && (eco === 'PyPI' ? normalizePyPI(a.package.name) === name : a.package.name === name)));
    },
    evaluate,
    cvss3: (v) => {
      // Enough of a calculator for the matcher's tests: two known vectors.
      if (v === 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H') return { score: 9.8, severity: 'CRITICAL' };
      if (v === 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H') return { score: 7.5, severity: 'HIGH' };
      throw new Error(`malformed vector ${v}`);
    },
    info: () => ({ records: records.length }),
  };
}

const layer = { index: 0, diffId: 'sha256:' + 'a'.repeat(64), createdBy: 'COPY . /' };
function pkg(p: Partial<Package> & Pick<Package, 'name' | 'version' | 'type'>): Package {
  return { purl: `pkg:${p.type}/${p.name}@${p.version}`, licenses: [], layer, location: '/var/lib/dpkg/status', ...p };
}

function sbom(packages: Package[], distro: ImageSbom['distro'] = { id: 'debian', versionId: '12' }): ImageSbom {
  return { image: { id: 'sha256:' + 'b'.repeat(64), repoTags: ['app:1'], repoDigests: [], os: 'linux', architecture: 'amd64' }, distro, layers: [layer], packages, warnings: [] };
}

const range = (eco: string, name: string, events: Record<string, string>[], extra: Partial<NonNullable<OsvRecord['affected']>[number]> = {}) => ({
  package: { ecosystem: eco, name },
  ranges: [{ type: 'ECOSYSTEM', events }],
  ...extra,
});

const ids = (r: ScanReport): string[] => allFindings(r).map((v) => `${v.PkgName}:${v.VulnerabilityID}`).sort();

describe('scan matching', () => {
  it('Debian packages match on their source package and source version in Debian:<major>', async () => {
    const records: OsvRecord[] = [
      { id: 'DSA-1', summary: 'openssl: bad', affected: [range('Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.12' }])] },
      { id: 'DSA-2', affected: [range('Debian:11', 'openssl', [{ introduced: '0' }, { fixed: '9' }])] },
      { id: 'DSA-3', affected: [range('Debian:12', 'libssl3', [{ introduced: '0' }, { fixed: '9' }])] },
    ];
    const src = source(records);
    const r = await matchSbom(
      sbom([
        pkg({ name: 'libssl3', version: '3.0.11+b1', sourceName: 'openssl', sourceVersion: '3.0.11', type: 'deb' }),
        pkg({ name: 'openssl', version: '3.0.11', sourceName: 'openssl', sourceVersion: '3.0.11', type: 'deb' }),
      ], { id: 'debian', versionId: '12.4' }),
      src,
      { artifactName: 'app:1' },
    );
    assert.deepEqual(ids(r), ['libssl3:DSA-1', 'openssl:DSA-1']);
    assert.ok(src.lookups.every((l) => l === 'Debian:12/openssl'), src.lookups.join());
    const v = allFindings(r).find((x) => x.PkgName === 'libssl3')!;
    assert.equal(v.InstalledVersion, '3.0.11+b1');
    assert.equal(v.PkgSrcName, 'openssl');
    assert.equal(v.FixedVersion, '3.0.12');
    assert.equal(v.Status, 'fixed');
    assert.equal(v.Title, 'openssl: bad');
    assert.equal(r.Results[0]!.Target, 'app:1 (debian 12.4)');
    assert.equal(r.Results[0]!.Class, 'os-pkgs');
  });

  it('Alpine packages match in Alpine:v<major.minor> on their origin', async () => {
    const records: OsvRecord[] = [{ id: 'ALPINE-1', affected: [range('Alpine:v3.19', 'busybox', [{ introduced: '0' }, { fixed: '1.36.2' }])] }];
    const r = await matchSbom(sbom([pkg({ name: 'ssl_client', sourceName: 'busybox', version: '1.36.1', type: 'apk' })], { id: 'alpine', versionId: '3.19.1' }), source(records), { artifactName: 'a' });
    assert.deepEqual(ids(r), ['ssl_client:ALPINE-1']);
    assert.deepEqual(osEcosystem({ id: 'alpine', versionId: '3.19.1' }), { ecosystem: 'Alpine:v3.19' });
    assert.deepEqual(osEcosystem({ id: 'debian', versionId: '11' }), { ecosystem: 'Debian:11' });
  });

  it('fixed, last_affected and explicit versions lists each decide', async () => {
    const records: OsvRecord[] = [
      { id: 'FIXED-IN', affected: [range('npm', 'a', [{ introduced: '1.0' }, { fixed: '1.5' }])] },
      { id: 'FIXED-BEFORE', affected: [range('npm', 'a', [{ introduced: '0' }, { fixed: '1.2' }])] },
      { id: 'LAST-AFFECTED', affected: [range('npm', 'a', [{ introduced: '0' }, { last_affected: '1.3' }])] },
      { id: 'LAST-AFFECTED-BEFORE', affected: [range('npm', 'a', [{ introduced: '0' }, { last_affected: '1.2.9' }])] },
      { id: 'LISTED', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1.3', '2.0'] }] },
      { id: 'NOT-LISTED', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['2.0'] }] },
      { id: 'OTHER-PACKAGE', affected: [range('npm', 'b', [{ introduced: '0' }])] },
    ];
    const r = await matchSbom(sbom([pkg({ name: 'a', version: '1.3', type: 'npm', location: '/app/node_modules/a/package.json' })], undefined), source(records), { artifactName: 'x' });
    assert.deepEqual(ids(r), ['a:FIXED-IN', 'a:LAST-AFFECTED', 'a:LISTED']);
    const byId = Object.fromEntries(allFindings(r).map((v) => [v.VulnerabilityID, v]));
    assert.equal(byId['FIXED-IN']!.Status, 'fixed');
    assert.equal(byId['FIXED-IN']!.FixedVersion, '1.5');
    assert.equal(byId['LAST-AFFECTED']!.Status, 'affected');
    assert.equal(byId['LAST-AFFECTED']!.FixedVersion, undefined);
    assert.equal(byId['LISTED']!.PkgPath, 'app/node_modules/a/package.json');
    assert.equal(r.Results[0]!.Target, 'Node.js');
  });

  it('withdrawn records are ignored', async () => {
    const records: OsvRecord[] = [
      { id: 'GONE', withdrawn: '2024-01-01T00:00:00Z', affected: [range('npm', 'a', [{ introduced: '0' }])] },
      { id: 'HERE', affected: [range('npm', 'a', [{ introduced: '0' }])] },
    ];
    const r = await matchSbom(sbom([pkg({ name: 'a', version: '1.0', type: 'npm' })]), source(records), { artifactName: 'x' });
    assert.deepEqual(ids(r), ['a:HERE']);
  });

  it('a version that does not parse is listed as unknown and named in a warning, never silently matched or cleared', async () => {
    const records: OsvRecord[] = [{ id: 'R1', affected: [range('npm', 'a', [{ introduced: '0' }, { fixed: '2.0' }])] }];
    const r = await matchSbom(sbom([pkg({ name: 'a', version: 'not-a-version', type: 'npm' })]), source(records), { artifactName: 'x' });
    const [v] = allFindings(r);
    assert.equal(v!.Status, 'unknown');
    assert.match(r.Warnings!.join('\n'), /a not-a-version \(npm\)/);
    assert.match(r.Warnings!.join('\n'), /status "unknown"/);
  });

  it('PyPI names are normalised (PEP 503) on both sides; Go modules match by path', async () => {
    const records: OsvRecord[] = [
      { id: 'PYSEC-1', affected: [range('PyPI', 'Django_Rest.framework', [{ introduced: '0' }, { fixed: '3.15' }])] },
      { id: 'GO-1', affected: [range('Go', 'golang.org/x/net', [{ introduced: '0' }, { fixed: '0.23.0' }])] },
    ];
    const r = await matchSbom(
      sbom([
        pkg({ name: 'djangorestframework', version: '3.14', type: 'pypi', location: '/usr/lib/python3/dist-packages/x.dist-info/METADATA' }),
        pkg({ name: 'django-rest-framework', version: '3.14', type: 'pypi', location: '/usr/lib/python3/dist-packages/y.dist-info/METADATA' }),
        pkg({ name: 'golang.org/x/net', version: '0.17.0', type: 'go', location: '/usr/local/bin/app' }),
      ]),
      source(records),
      { artifactName: 'x' },
    );
    assert.deepEqual(ids(r), ['django-rest-framework:PYSEC-1', 'golang.org/x/net:GO-1']);
    assert.deepEqual(r.Results.map((x) => [x.Target, x.Type]), [['Python', 'python-pkg'], ['usr/local/bin/app', 'gobinary']]);
    assert.equal(matchKey(pkg({ name: 'Foo.Bar_baz', version: '1', type: 'pypi' }), undefined)!.name, 'foo-bar-baz');
  });

  it('severity: a CVSS v3 vector scored, else the stated rating, else UNKNOWN', () => {
    const s = source([]);
    assert.deepEqual(severityOf({ id: 'x', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }], database_specific: { severity: 'LOW' } }, undefined, s.cvss3), {
      severity: 'CRITICAL',
      source: 'cvss_v3',
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      score: 9.8,
    });
    // A malformed vector falls through to the stated rating.
    assert.equal(severityOf({ id: 'x', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:X' }], database_specific: { severity: 'MODERATE' } }, undefined, s.cvss3).severity, 'MEDIUM');
    assert.equal(severityOf({ id: 'x' }, { ecosystem_specific: { severity: 'high' } }, s.cvss3).severity, 'HIGH');
    assert.equal(severityOf({ id: 'x' }, { database_specific: { urgency: 'unimportant' } }, s.cvss3).severity, 'LOW');
    assert.deepEqual(severityOf({ id: 'x', severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' }] }, undefined, s.cvss3), { severity: 'UNKNOWN' });
    // Per-affected vectors count too.
    assert.equal(severityOf({ id: 'x' }, { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }] }, s.cvss3).severity, 'HIGH');
  });

  it('aliases, the layer, CVSS and references travel with a finding', async () => {
    const records: OsvRecord[] = [
      {
        id: 'GHSA-aaaa-bbbb-cccc',
        aliases: ['CVE-2024-0001'],
        summary: 'prototype pollution',
        details: 'long text',
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
        references: [{ type: 'ADVISORY', url: 'https://example.org/a' }],
        published: '2024-01-02T00:00:00Z',
        affected: [range('npm', 'lodash', [{ introduced: '0' }, { fixed: '4.17.21' }])],
      },
    ];
    const r = await matchSbom(sbom([pkg({ name: 'lodash', version: '4.17.20', type: 'npm', location: '/app/package-lock.json' })], undefined), source(records), { artifactName: 'x' });
    const [v] = allFindings(r);
    assert.deepEqual(v!.Aliases, ['CVE-2024-0001']);
    assert.equal(v!.Severity, 'HIGH');
    assert.deepEqual(v!.CVSS, { osv: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', V3Score: 7.5 } });
    assert.deepEqual(v!.Layer, { DiffID: layer.diffId, CreatedBy: 'COPY . /' });
    assert.deepEqual(v!.References, ['https://example.org/a']);
    assert.equal(r.Results[0]!.Target, 'app/package-lock.json');
    assert.equal(r.Results[0]!.Type, 'npm');
    assert.deepEqual(r.Database, { Records: 1 });
  });

  it('an OS without advisories is a warning; clean targets are still listed', async () => {
    const r = await matchSbom(
      sbom([pkg({ name: 'bash', version: '5', type: 'deb' }), pkg({ name: 'x', version: '1', type: 'npm' })], { id: 'fedora', versionId: '39' }),
      source([]),
      { artifactName: 'x' },
    );
    assert.match(r.Warnings!.join(), /no advisories for the OS "fedora 39"/);
    assert.deepEqual(r.Results.map((x) => [x.Target, x.Vulnerabilities]), [['x (fedora 39)', undefined], ['Node.js', undefined]]);
    assert.match((osEcosystem({ id: 'debian' }) as { reason: string }).reason, /without a release number/);
  });

  it('filters: severities, unfixed, and a predicate', async () => {
    const records: OsvRecord[] = [
      { id: 'C', database_specific: { severity: 'CRITICAL' }, affected: [range('npm', 'a', [{ introduced: '0' }, { fixed: '2' }])] },
      { id: 'L', database_specific: { severity: 'LOW' }, affected: [range('npm', 'a', [{ introduced: '0' }])] },
    ];
    const r = await matchSbom(sbom([pkg({ name: 'a', version: '1', type: 'npm' })]), source(records), { artifactName: 'x' });
    assert.deepEqual(ids(filterReport(r, { severities: parseSeverities('high,critical') })), ['a:C']);
    assert.deepEqual(ids(filterReport(r, { ignoreUnfixed: true })), ['a:C']);
    assert.deepEqual(ids(filterReport(r, { ignore: (v) => v.VulnerabilityID === 'C' })), ['a:L']);
    assert.throws(() => parseSeverities('HIGH,SEVERE'), /invalid severity "SEVERE"/);
  });
});

describe('scan service', () => {
  const none = { inventoryOf: () => Promise.reject(new NotFound('No such image: nope')) };
  it('without a database it says to import one, before looking at the image', async () => {
    const svc = new ScanService({ inventory: none, database: async () => undefined, tmpDir: '/tmp' });
    await assert.rejects(svc.scan({ image: 'app:1' }), (e: unknown) => e instanceof Unavailable && e.message === NO_DATABASE);
    assert.match(NO_DATABASE, /berth scan db import/);
  });

  it('an unknown local image is not looked up on Docker Hub; a reference naming its registry is', async () => {
    const asked: string[] = [];
    const inv = {
      inventoryOf: async (s: InventorySource) => {
        asked.push(`${s.kind}:${s.kind === 'remote' ? s.ref : s.name}`);
        if (s.kind === 'image') throw new NotFound('No such image');
        return sbom([]);
      },
    };
    const svc = new ScanService({ inventory: inv, database: async () => source([]), tmpDir: '/tmp' });
    await assert.rejects(svc.scan({ image: 'nope:1' }), /No such image: nope:1 \(not stored locally; name its registry/);
    await svc.scan({ image: '127.0.0.1:5000/app:1' });
    await svc.scan({ image: 'busybox', src: ['remote'] });
    assert.deepEqual(asked, ['image:nope:1', 'image:127.0.0.1:5000/app:1', 'remote:127.0.0.1:5000/app:1', 'remote:busybox']);
    assert.equal(namesRegistry('localhost/app'), true);
    assert.equal(namesRegistry('user/app'), false);
  });
});

describe('scan matching against the real database', () => {
  it('imported records, real comparators: epochs and ~ in dpkg, an unparseable npm version reported unknown', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scan-db-'));
    try {
      const rec = (id: string, ecosystem: string, name: string, events: Record<string, string>[], extra: object = {}) => ({
        id,
        modified: '2026-01-01T00:00:00Z',
        aliases: [],
        severity: [],
        affected: [{ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events }], versions: [] }],
        ...extra,
      });
      await fs.mkdir(path.join(dir, 'in'));
      const records = [
        rec('DSA-1', 'Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u3' }], { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] }),
        rec('DSA-2', 'Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u1' }]),
        rec('DSA-3', 'Debian:12', 'zlib', [{ introduced: '0' }, { fixed: '1:1.2.13.dfsg-2' }]),
        rec('GHSA-1', 'npm', 'weird', [{ introduced: '0' }, { fixed: '2.0.0' }]),
      ];
      for (const r of records) await fs.writeFile(path.join(dir, 'in', `${r.id}.json`), JSON.stringify(r));
      await importPath(path.join(dir, 'db'), path.join(dir, 'in'));
      const db = await openDatabase(path.join(dir, 'db'))();
      assert.ok(db);
      const r = await matchSbom(
        sbom([
          pkg({ name: 'libssl3', version: '3.0.11-1~deb12u2', sourceName: 'openssl', type: 'deb' }),
          // 1:1.2.13 (epoch 1) is newer than any 1.x without an epoch, older than 1:1.2.13.dfsg-2.
          pkg({ name: 'zlib1g', version: '1:1.2.13.dfsg-1', sourceName: 'zlib', type: 'deb' }),
          pkg({ name: 'weird', version: 'v1..2', type: 'npm' }),
        ]),
        db,
        { artifactName: 'app:1' },
      );
      assert.deepEqual(
        allFindings(r).map((v) => [v.PkgName, v.VulnerabilityID, v.Status, v.Severity, v.FixedVersion]),
        [
          ['libssl3', 'DSA-1', 'fixed', 'CRITICAL', '3.0.11-1~deb12u3'],
          ['zlib1g', 'DSA-3', 'fixed', 'UNKNOWN', '1:1.2.13.dfsg-2'],
          ['weird', 'GHSA-1', 'unknown', 'UNKNOWN', undefined],
        ],
      );
      assert.match(r.Warnings!.join(), /weird v1\.\.2 \(npm\)/);
      assert.deepEqual(r.Database?.Records, 4);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
