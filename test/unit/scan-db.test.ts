import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tarStream from 'tar-stream';
import { Readable } from 'node:stream';
import { importPath, importRecords, tarFiles, VulnDb } from '../../src/engine/scan/db.js';
import { evaluate } from '../../src/engine/scan/osv.js';
import { makeZip } from '../support/zip.js';

const RECORDS: Record<string, unknown> = {
  'DSA-5532-1.json': {
    id: 'DSA-5532-1',
    modified: '2023-10-26T00:00:00Z',
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.11-1~deb12u2' }] }] }],
  },
  'DEBIAN-CVE-2024-1.json': {
    id: 'DEBIAN-CVE-2024-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [
      { package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
      { package: { ecosystem: 'Debian:11', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
    ],
  },
  'GHSA-1.json': {
    id: 'GHSA-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }],
  },
  'PYSEC-1.json': {
    id: 'PYSEC-1',
    modified: '2024-01-01T00:00:00Z',
    affected: [{ package: { ecosystem: 'PyPI', name: 'Jinja2' }, versions: ['3.1.2'] }],
  },
  'RUSTSEC-1.json': { id: 'RUSTSEC-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'crates.io', name: 'x' } }] },
  'BAD-1.json': { id: 'BAD-1', modified: '2024-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'y' }, ranges: [{ type: 'SEMVER', events: [{ introduced: 'x.y' }] }] }] },
};

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'berth-vulndb-'));
}

function zipOf(records: Record<string, unknown>, extra: Array<{ name: string; data: string }> = []): Buffer {
  return makeZip([...Object.entries(records).map(([name, r]) => ({ name, data: JSON.stringify(r) })), ...extra]);
}

test('db: a zip as osv.dev publishes it is imported; status counts ecosystems and skipped records', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'all.zip'), zipOf(RECORDS, [{ name: 'broken.json', data: '{"id": ' }, { name: 'README.txt', data: 'not a record' }]));
  const meta = await importPath(path.join(dir, 'db'), path.join(dir, 'all.zip'), { source: 'all.zip' });
  assert.equal(meta.records, 4);
  assert.deepEqual(meta.ecosystems, { 'Debian:12': 2, 'Debian:11': 1, npm: 1, PyPI: 1 });
  assert.deepEqual(meta.skipped, { 'invalid-json': 1, 'unknown-ecosystem': 1, malformed: 1 });
  assert.equal(meta.files, 7);
  const db = VulnDb.open(path.join(dir, 'db'));
  const st = db.status();
  assert.equal(st.source, 'all.zip');
  assert.equal(st.records, 4);
  assert.ok(st.ageSeconds >= 0 && st.sizeBytes > 0);
  assert.deepEqual(db.lookup('Debian:12', 'openssl').map((r) => r.id).sort(), ['DEBIAN-CVE-2024-1', 'DSA-5532-1']);
  assert.deepEqual(db.lookup('Debian:11', 'openssl').map((r) => r.id), ['DEBIAN-CVE-2024-1']);
  assert.deepEqual(db.lookup('PyPI', 'jinja2').map((r) => r.id), ['PYSEC-1'], 'PyPI names are normalised');
  assert.deepEqual(db.lookup('Debian:12', 'libssl3'), []);
  assert.deepEqual(db.lookup('Alpine:v3.19', 'openssl'), []);
  const [rec] = db.lookup('npm', 'lodash');
  assert.deepEqual(evaluate(rec!, 'npm', 'lodash', '4.17.20'), { status: 'affected', fixed: ['4.17.21'] });
  assert.equal([...db.keys()].length, 4);
  db.close();
});

test('db: a directory and a tar stream of OSV files import the same records', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'osv');
  fs.mkdirSync(path.join(src, 'npm'), { recursive: true });
  for (const [name, r] of Object.entries(RECORDS)) fs.writeFileSync(path.join(src, name.startsWith('GHSA') ? 'npm' : '', name), JSON.stringify(r));
  const a = await importPath(path.join(dir, 'a'), src);
  assert.equal(a.records, 4);
  const pack = tarStream.pack();
  for (const [name, r] of Object.entries(RECORDS)) pack.entry({ name: `osv/${name}` }, JSON.stringify(r));
  pack.finalize();
  const b = await importRecords(path.join(dir, 'b'), tarFiles(Readable.from(pack), 'upload.tar'), 'upload.tar');
  assert.deepEqual(b.ecosystems, a.ecosystems);
  assert.deepEqual(VulnDb.open(path.join(dir, 'b')).lookup('npm', 'lodash').map((r) => r.id), ['GHSA-1']);
});

test('db: a truncated or corrupt archive is refused and the old database stays intact', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dbDir = path.join(dir, 'db');
  fs.writeFileSync(path.join(dir, 'good.zip'), zipOf(RECORDS));
  await importPath(dbDir, path.join(dir, 'good.zip'), { source: 'good.zip' });
  const before = fs.readdirSync(dbDir).sort();

  const big = zipOf(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`GHSA-${i}.json`, { ...(RECORDS['GHSA-1.json'] as object), id: `GHSA-N${i}` }])));
  fs.writeFileSync(path.join(dir, 'truncated.zip'), big.subarray(0, Math.floor(big.length / 2)));
  await assert.rejects(importPath(dbDir, path.join(dir, 'truncated.zip')), /the archive .*truncated\.zip is corrupt or truncated \(.*\): nothing imported, the current database is unchanged/);

  const corrupt = Buffer.from(big);
  corrupt[100] ^= 0xff; // inside the first entry's compressed data
  fs.writeFileSync(path.join(dir, 'corrupt.zip'), corrupt);
  await assert.rejects(importPath(dbDir, path.join(dir, 'corrupt.zip')), /corrupt\.zip is corrupt or truncated/);

  fs.writeFileSync(path.join(dir, 'empty.zip'), zipOf({ 'RUSTSEC-1.json': RECORDS['RUSTSEC-1.json'] }));
  await assert.rejects(importPath(dbDir, path.join(dir, 'empty.zip')), /no usable OSV records in .*empty\.zip \(1 JSON file\(s\), skipped: 1 unknown-ecosystem; e\.g\. RUSTSEC-1\.json: RUSTSEC-1: ecosystem "crates\.io" is not supported\): the current database is unchanged/);

  fs.writeFileSync(path.join(dir, 'random.bin'), Buffer.from('\x00\x01garbage'));
  await assert.rejects(importPath(dbDir, path.join(dir, 'random.bin')), /random\.bin is not a zip or tar archive of OSV records, nor an OSV JSON file/);
  await assert.rejects(importPath(dbDir, path.join(dir, 'missing.zip')), /missing\.zip: no such file or directory/);

  assert.deepEqual(fs.readdirSync(dbDir).sort(), before, 'no temporary generation left behind');
  const db = VulnDb.open(dbDir);
  assert.equal(db.status().source, 'good.zip');
  assert.equal(db.lookup('npm', 'lodash').length, 1);
});

test('db: re-import replaces the database; opening none says how to get one', async (t) => {
  const dir = tmp();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  assert.throws(() => VulnDb.open(path.join(dir, 'db')), /no vulnerability database in .*: import one with `berth scan db import FILE` or `berth scan db pull REF`/);
  assert.equal(VulnDb.tryOpen(path.join(dir, 'db')), undefined);
  fs.writeFileSync(path.join(dir, 'one.json'), JSON.stringify([RECORDS['GHSA-1.json'], RECORDS['PYSEC-1.json']]));
  await importPath(path.join(dir, 'db'), path.join(dir, 'one.json'));
  const first = VulnDb.open(path.join(dir, 'db'));
  assert.equal(first.status().records, 2);
  fs.writeFileSync(path.join(dir, 'two.json'), JSON.stringify(RECORDS['DSA-5532-1.json']));
  await importPath(path.join(dir, 'db'), path.join(dir, 'two.json'));
  const second = VulnDb.open(path.join(dir, 'db'));
  assert.deepEqual(second.status().ecosystems, { 'Debian:12': 1 });
  assert.equal(second.lookup('npm', 'lodash').length, 0);
  assert.equal(fs.readdirSync(path.join(dir, 'db')).filter((e) => e.startsWith('gen-')).length, 1, 'the old generation is removed');
});
