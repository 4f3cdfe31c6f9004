// `berth scan db`: import through the CLI (a directory sent as a tar, a zip sent as is), status, a
// truncated archive refused with the old database kept, push to `berth registry serve` on 127.0.0.1 as an
// OCI artifact, and pull — into a second root (the engine's pull) and back into berthd through the CLI.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestDaemon } from './harness.js';
import { startRegistryServe, type RegistryServe } from '../support/registry-serve.js';
import { makeZip } from '../support/zip.js';
import { DISTRIBUTION, startDistribution } from '../support/distribution.js';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { RegistryClient } from '../../src/distribution/registry.js';
import { pullDb } from '../../src/engine/scan/artifact.js';
import { VulnDb } from '../../src/engine/scan/db.js';
import { evaluate } from '../../src/engine/scan/osv.js';

const rec = (id: string, ecosystem: string, name: string, fixed: string): object => ({
  id,
  modified: '2024-05-01T00:00:00Z',
  summary: `${name} test advisory`,
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  affected: [{ package: { ecosystem, name }, ranges: [{ type: ecosystem === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
});

const RECORDS: Record<string, object> = {
  'debian/DSA-9001-1.json': rec('DSA-9001-1', 'Debian:12', 'openssl', '3.0.13-1~deb12u1'),
  'debian/DSA-9002-1.json': rec('DSA-9002-1', 'Debian:12', 'glibc', '2.36-9+deb12u7'),
  'alpine/ALPINE-9003.json': rec('ALPINE-9003', 'Alpine:v3.19', 'busybox', '1.36.1-r17'),
  'npm/GHSA-9004.json': rec('GHSA-9004', 'npm', 'lodash', '4.17.21'),
  'cargo/RUSTSEC-9005.json': rec('RUSTSEC-9005', 'crates.io', 'smallvec', '1.6.1'),
};

describe('berth scan db', { timeout: 120_000 }, () => {
  let d: TestDaemon;
  let reg: RegistryServe;
  let tmp: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-scandb-'));
    d = await TestDaemon.start();
    reg = await startRegistryServe(path.join(tmp, 'registry'));
  });

  after(async () => {
    await reg?.stop();
    await d?.cleanup();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('says how to get a database before there is one', async () => {
    const r = await d.berth(['scan', 'db', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no vulnerability database in .*: import one with `berth scan db import FILE` or `berth scan db pull REF`/);
  });

  it('imports a directory of OSV files (sent as a tar) and reports counts and skipped records', async () => {
    const dir = path.join(tmp, 'osv');
    for (const [name, r] of Object.entries(RECORDS)) {
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.writeFile(path.join(dir, name), JSON.stringify(r));
    }
    const r = await d.berth(['scan', 'db', 'import', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Imported 4 records from osv \(5 files read; skipped: 1 unknown-ecosystem\)\n/);
    assert.match(r.stdout, /ECOSYSTEM +RECORDS\nAlpine:v3\.19 +1\nDebian:12 +2\nnpm +1\n/);
    assert.match(r.stdout, /RUSTSEC-9005: ecosystem "crates\.io" is not supported/);
  });

  it('imports a zip, refuses a truncated one and keeps the database it has', async () => {
    const zip = makeZip(Object.entries(RECORDS).map(([name, r]) => ({ name: path.basename(name), data: JSON.stringify(r) })));
    await fs.writeFile(path.join(tmp, 'all.zip'), zip);
    const ok = await d.berth(['scan', 'db', 'import', path.join(tmp, 'all.zip')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Imported 4 records from all\.zip/);

    await fs.writeFile(path.join(tmp, 'cut.zip'), zip.subarray(0, zip.length - 40));
    const bad = await d.berth(['scan', 'db', 'import', path.join(tmp, 'cut.zip')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Error response from daemon: the archive cut\.zip is corrupt or truncated \(.+\): nothing imported, the current database is unchanged/);
    const missing = await d.berth(['scan', 'db', 'import', path.join(tmp, 'nope.zip')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /open .*nope\.zip: no such file or directory/);

    const st = await d.berth(['scan', 'db', 'status', '--format', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const status = JSON.parse(st.stdout) as { source: string; records: number; ecosystems: Record<string, number> };
    assert.equal(status.source, 'all.zip');
    assert.equal(status.records, 4);
    assert.deepEqual(status.ecosystems, { 'Debian:12': 2, 'Alpine:v3.19': 1, npm: 1 });
    const table = await d.berth(['scan', 'db', 'status']);
    assert.match(table.stdout, /^Source: +all\.zip\nImported: +\S+ \(.+ ago\)\nRecords: +4\n/);
  });

  it('pushes the database to a registry and pulls it into a second root and back into berthd', async () => {
    const ref = `${reg.host}/security/vulndb:latest`;
    const push = await d.berth(['scan', 'db', 'push', ref]);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stdout, /latest: digest: sha256:[0-9a-f]{64} size: \d+/);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1]!;

    // A second root: the engine's pull, as another machine's berthd would run it.
    const second = path.join(tmp, 'second', 'vulndb');
    const meta = await pullDb(second, ref, { auth: {}, progress: () => undefined });
    assert.equal(meta.records, 4);
    assert.equal(meta.source, `${ref}@${digest} (imported from all.zip)`);
    const db = VulnDb.open(second);
    const [r] = db.lookup('Debian:12', 'openssl');
    assert.deepEqual(evaluate(r!, 'Debian:12', 'openssl', '3.0.11-1~deb12u2'), { status: 'affected', fixed: ['3.0.13-1~deb12u1'] });
    db.close();

    // Replace berthd's database, then pull the pushed one back through the CLI.
    await fs.writeFile(path.join(tmp, 'one.json'), JSON.stringify(RECORDS['npm/GHSA-9004.json']));
    assert.equal((await d.berth(['scan', 'db', 'import', path.join(tmp, 'one.json')])).code, 0);
    const pull = await d.berth(['scan', 'db', 'pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /Status: Downloaded vulnerability database \(4 records\)/);
    const st = JSON.parse((await d.berth(['scan', 'db', 'status', '--format', 'json'])).stdout) as { records: number; source: string; pulledAt?: string };
    assert.equal(st.records, 4);
    assert.ok(st.pulledAt);

    const wrong = await d.berth(['scan', 'db', 'pull', `${reg.host}/security/vulndb:missing`]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr + wrong.stdout, /missing|not found|unknown/i);
    // An image is not a database: refused by its artifact type, nothing installed.
    const client = new RegistryClient({ host: reg.host, auth: {} });
    const cfg = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const cfgDigest = `sha256:${(await import('node:crypto')).createHash('sha256').update(cfg).digest('hex')}`;
    await client.upload('library/app', () => Readable.from([cfg]), () => cfgDigest);
    const image = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgDigest, size: cfg.length }, layers: [] };
    await client.putManifest('library/app', '1', Buffer.from(JSON.stringify(image)), image.mediaType);
    const notDb = await d.berth(['scan', 'db', 'pull', `${reg.host}/library/app:1`]);
    assert.equal(notDb.code, 1);
    assert.match(notDb.stderr, /library\/app:1 is not a berth vulnerability database \(artifact type application\/vnd\.oci\.image\.config\.v1\+json, expected application\/vnd\.berth\.vulndb\.v1\)/);
    assert.equal(JSON.parse((await d.berth(['scan', 'db', 'status', '--format', 'json'])).stdout).records, 4, 'a failed pull keeps the database');
  });

  it('round-trips through distribution 2.8 (Debian docker-registry) too', { skip: !existsSync(DISTRIBUTION) && 'docker-registry not installed' }, async () => {
    const dist = await startDistribution();
    try {
      const ref = `127.0.0.1:${dist.port}/vulndb:v1`;
      const push = await d.berth(['scan', 'db', 'push', ref]);
      assert.equal(push.code, 0, push.stderr);
      const third = path.join(tmp, 'third', 'vulndb');
      const meta = await pullDb(third, ref, { auth: {}, progress: () => undefined });
      assert.equal(meta.records, 4);
      const db = VulnDb.open(third);
      assert.deepEqual(db.lookup('Alpine:v3.19', 'busybox').map((r) => r.id), ['ALPINE-9003']);
      db.close();
    } finally {
      await dist.stop();
    }
  });
});
