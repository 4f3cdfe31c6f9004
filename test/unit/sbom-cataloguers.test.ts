// The SBOM cataloguers on real file formats (dpkg status and DEP-5 copyright, apk's installed db,
// package.json and package-lock.json v1/v3, Python METADATA/PKG-INFO, Go build info, os-release), the
// per-layer file views (extracted directory with overlay whiteouts; tar stream with .wh. entries), the
// merge across layers (whiteouts, attribution to the introducing layer), malformed input, purls and the cache.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tarStream from 'tar-stream';
import { parseDpkgStatus, parseCopyright, parseSource } from '../../src/engine/sbom/dpkg.js';
import { parseApkInstalled } from '../../src/engine/sbom/apk.js';
import { parsePackageJson, parsePackageLock } from '../../src/engine/sbom/npm.js';
import { parsePythonMetadata } from '../../src/engine/sbom/python.js';
import { parseOsRelease } from '../../src/engine/sbom/osrelease.js';
import { goPackages, hasGoSection, parseBuildInfoAt, scanGoBinary } from '../../src/engine/sbom/gobinary.js';
import { catalogueLayer } from '../../src/engine/sbom/catalogue.js';
import { assemble } from '../../src/engine/sbom/assemble.js';
import { dirView, tarView } from '../../src/engine/sbom/view.js';
import { purlOf, pypiName } from '../../src/engine/sbom/purl.js';
import { LayerCache } from '../../src/engine/sbom/cache.js';
import type { LayerFacts } from '../../src/engine/sbom/fragments.js';

const DPKG_STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12985
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Replaces: libc6-amd64
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: bsdutils
Essential: yes
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+b1
Description: basic utilities from 4.4BSD-Lite

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: removed, its configuration kept
`;

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: util-linux

Files: *
Copyright: 1980-2022 many
License: GPL-2+

Files: lib/*
License: LGPL-2.1+

License: GPL-2+
 This program is free software; you can redistribute it ...
`;

const APK = `C:Q1Ftb0ZkbW1lU0k=
P:musl
V:1.2.4-r2
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1696880418
F:lib
R:ld-musl-x86_64.so.1
R:libc.musl-x86_64.so.1

C:Q1abc=
P:busybox
V:1.36.1-r15
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
`;

/** The 32-byte Go ≥ 1.18 header, then the two varint-prefixed strings (as the linker writes them). */
function goBuildInfo(goVersion: string, modinfo: string): Buffer {
  const head = Buffer.alloc(32);
  Buffer.from('\xff Go buildinf:', 'latin1').copy(head);
  head[14] = 8;
  head[15] = 2;
  const sentinel = (hex: string) => Buffer.from(hex, 'hex');
  const mod = Buffer.concat([sentinel('3077af0c9274080241e1c107e6d618e6'), Buffer.from(modinfo), sentinel('f932433186182072008242104116d8f2')]);
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  return Buffer.concat([head, varint(goVersion.length), Buffer.from(goVersion), varint(mod.length), mod]);
}

const MODINFO = 'path\texample.com/app/cmd/app\nmod\texample.com/app\tv1.2.3\th1:abc=\ndep\tgolang.org/x/sys\tv0.15.0\th1:x=\ndep\tgithub.com/old/dep\tv1.0.0\n=>\tgithub.com/new/dep\tv1.1.0\th1:y=\nbuild\t-compiler=gc\n';

describe('dpkg', () => {
  it('reads packages with epochs, architectures and source packages; skips removed ones', () => {
    const f = parseDpkgStatus(DPKG_STATUS, '/var/lib/dpkg/status');
    assert.deepEqual(f.warnings, []);
    assert.deepEqual(
      f.packages!.map((p) => [p.name, p.version, p.arch, p.sourceName, p.sourceVersion]),
      [
        ['libc6', '2.36-9+deb12u4', 'amd64', 'glibc', '2.36-9+deb12u4'],
        ['bsdutils', '1:2.38.1-5+b1', 'amd64', 'util-linux', '2.38.1-5'],
      ],
    );
  });
  it('parses Source: with and without a version', () => {
    assert.deepEqual(parseSource('glibc (2.36-9)', '2.36-9+b1'), { sourceName: 'glibc', sourceVersion: '2.36-9' });
    assert.deepEqual(parseSource('zlib', '1:1.2.13'), { sourceName: 'zlib', sourceVersion: '1:1.2.13' });
    assert.deepEqual(parseSource(undefined, '1'), {});
  });
  it('reads licenses from machine-readable copyright files only', () => {
    assert.deepEqual(parseCopyright(COPYRIGHT), ['GPL-2+', 'LGPL-2.1+']);
    assert.equal(parseCopyright('This is the Debian prepackaged version of foo.\nCopyright: GPL\n'), undefined);
  });
  it('names a malformed status file and keeps the good entries', () => {
    const f = parseDpkgStatus('Package: good\nVersion: 1\n\nPackage: noversion\nStatus: install ok installed\n\n garbage continuation\nnot a field\n', '/var/lib/dpkg/status');
    assert.deepEqual(f.packages!.map((p) => p.name), ['good']);
    assert.equal(f.warnings!.length, 3);
    assert.ok(f.warnings!.every((w) => w.startsWith('/var/lib/dpkg/status: ')), f.warnings!.join('\n'));
    assert.match(f.warnings!.join('\n'), /line 4 has no Version field/);
  });
});

describe('apk', () => {
  it('reads /lib/apk/db/installed with origins, licenses and files', () => {
    const f = parseApkInstalled(APK, '/lib/apk/db/installed');
    assert.deepEqual(f.warnings, []);
    assert.deepEqual(f.packages![0], { name: 'musl', version: '1.2.4-r2', arch: 'x86_64', licenses: ['MIT'], sourceName: 'musl', sourceVersion: '1.2.4-r2', files: ['/lib/ld-musl-x86_64.so.1', '/lib/libc.musl-x86_64.so.1'] });
    assert.equal(f.packages![1]!.name, 'busybox');
  });
  it('warns about a malformed database and keeps the rest', () => {
    const f = parseApkInstalled('P:a\nV:1\n\nthis is not apk\nP:b\n', '/lib/apk/db/installed');
    assert.deepEqual(f.packages!.map((p) => p.name), ['a']);
    assert.equal(f.warnings!.length, 2);
  });
});

describe('npm', () => {
  it('reads package.json with license forms', () => {
    assert.deepEqual(parsePackageJson('{"name":"@types/node","version":"20.1.0","license":"MIT"}', '/x')!.packages, [{ name: '@types/node', version: '20.1.0', licenses: ['MIT'] }]);
    assert.deepEqual(parsePackageJson('{"name":"old","version":"1.0.0","licenses":[{"type":"BSD"},{"type":"MIT"}]}', '/x')!.packages![0]!.licenses, ['BSD', 'MIT']);
    assert.equal(parsePackageJson('{"private":true}', '/x'), undefined);
  });
  it('names a package.json that is not JSON', () => {
    const f = parsePackageJson('{"name": "broken",', '/app/node_modules/broken/package.json')!;
    assert.deepEqual(f.packages, []);
    assert.match(f.warnings![0]!, /^\/app\/node_modules\/broken\/package\.json: not valid JSON/);
  });
  it('reads package-lock.json v3 (packages) and v1 (dependencies)', () => {
    const v3 = parsePackageLock(JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'app' }, 'node_modules/a': { version: '1.0.0', license: 'MIT' }, 'node_modules/a/node_modules/@s/b': { version: '2.0.0' }, 'node_modules/l': { link: true } } }), 'app/package-lock.json');
    assert.deepEqual(v3.packages!.map((p) => [p.name, p.version, p.installedAt]), [
      ['a', '1.0.0', 'app/node_modules/a/package.json'],
      ['@s/b', '2.0.0', 'app/node_modules/a/node_modules/@s/b/package.json'],
    ]);
    const v1 = parsePackageLock(JSON.stringify({ lockfileVersion: 1, dependencies: { a: { version: '1.0.0', dependencies: { b: { version: '2.0.0' } } } } }), 'package-lock.json');
    assert.deepEqual(v1.packages!.map((p) => [p.name, p.version, p.installedAt]), [
      ['a', '1.0.0', 'node_modules/a/package.json'],
      ['b', '2.0.0', 'node_modules/a/node_modules/b/package.json'],
    ]);
  });
});

describe('python', () => {
  it('reads METADATA and PKG-INFO headers', () => {
    const f = parsePythonMetadata('Metadata-Version: 2.1\nName: Flask_SQLAlchemy\nVersion: 3.1.1\nLicense: BSD-3-Clause\nClassifier: License :: OSI Approved :: BSD License\n\nLong description\nName: not-this\n', '/x');
    assert.deepEqual(f.packages, [{ name: 'Flask_SQLAlchemy', version: '3.1.1', licenses: ['BSD-3-Clause', 'BSD License'] }]);
    assert.equal(pypiName('Flask_SQLAlchemy'), 'flask-sqlalchemy');
    assert.match(parsePythonMetadata('Metadata-Version: 2.1\nVersion: 1\n', '/usr/lib/x.dist-info/METADATA').warnings![0]!, /^\/usr\/lib\/x\.dist-info\/METADATA: no Name header/);
  });
});

describe('go binaries', () => {
  it('reads the Go ≥ 1.18 inline build info: main module, deps, replacements, stdlib', () => {
    const info = parseBuildInfoAt(goBuildInfo('go1.21.5', MODINFO), 0)!;
    assert.equal(info.goVersion, 'go1.21.5');
    assert.deepEqual(goPackages(info), [
      { name: 'example.com/app', version: 'v1.2.3' },
      { name: 'golang.org/x/sys', version: 'v0.15.0' },
      { name: 'github.com/new/dep', version: 'v1.1.0' },
      { name: 'stdlib', version: 'v1.21.5' },
    ]);
  });
  it('finds the header at 16-byte alignment anywhere in a stream, across chunk boundaries', async () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(100_000 - 4 + 12), goBuildInfo('go1.22.0', MODINFO), Buffer.alloc(300_000)]);
    // 100_012 is not 16-aligned: move the header to 100_016.
    const at = 100_016;
    const file = Buffer.concat([elf.subarray(0, at), goBuildInfo('go1.22.0', MODINFO), Buffer.alloc(300_000)]);
    const chunks = async function* () {
      for (let i = 0; i < file.length; i += 7001) yield file.subarray(i, i + 7001);
    };
    const info = await scanGoBinary(chunks());
    assert.equal(info?.goVersion, 'go1.22.0');
    assert.equal(info?.main?.path, 'example.com/app');
  });
  it('reads a real Go binary (runc) and ignores other files', async () => {
    const info = await scanGoBinary(createReadStream('/usr/sbin/runc'));
    assert.equal(info?.path, 'github.com/opencontainers/runc');
    assert.match(info!.goVersion, /^go1\.\d+/);
    assert.equal(await scanGoBinary(createReadStream('/bin/ls')), undefined);
    assert.equal(await scanGoBinary(createReadStream('/etc/os-release')), undefined);
    // The section-header check that spares reading non-Go programs whole.
    const readAt = (file: string) => async (offset: number, length: number) => {
      const fh = await fs.open(file, 'r');
      try {
        const b = Buffer.alloc(length);
        return b.subarray(0, (await fh.read(b, 0, length, offset)).bytesRead);
      } finally {
        await fh.close();
      }
    };
    assert.equal(await hasGoSection(readAt('/usr/sbin/runc')), true);
    assert.equal(await hasGoSection(readAt('/bin/ls')), false);
    assert.equal(await hasGoSection(readAt('/etc/os-release')), false);
  });
});

describe('purls', () => {
  const debian = { id: 'debian', versionId: '12' };
  it('follows the purl spec per type', () => {
    assert.equal(purlOf('deb', { name: 'bsdutils', version: '1:2.38.1-5+b1', arch: 'amd64' }, debian), 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12');
    assert.equal(purlOf('apk', { name: 'musl', version: '1.2.4-r2', arch: 'x86_64' }, { id: 'alpine', versionId: '3.19.1' }), 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1');
    assert.equal(purlOf('npm', { name: '@types/node', version: '20.1.0' }, undefined), 'pkg:npm/%40types/node@20.1.0');
    assert.equal(purlOf('npm', { name: 'ajv', version: '8.12.0' }, undefined), 'pkg:npm/ajv@8.12.0');
    assert.equal(purlOf('pypi', { name: 'Flask_SQLAlchemy', version: '3.1.1' }, undefined), 'pkg:pypi/flask-sqlalchemy@3.1.1');
    assert.equal(purlOf('go', { name: 'github.com/opencontainers/runc', version: 'v1.1.12' }, undefined), 'pkg:golang/github.com/opencontainers/runc@v1.1.12');
  });
  it('reads os-release', () => {
    assert.deepEqual(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'), { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
  });
});

async function tarOf(entries: { name: string; body?: string; type?: 'file' | 'directory'; mode?: number }[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644 }, e.body ?? '');
  pack.finalize();
  const out: Buffer[] = [];
  for await (const c of pack) out.push(c as Buffer);
  return Buffer.concat(out);
}

const ref = (index: number) => ({ index, diffId: 'sha256:' + String(index).repeat(64), createdBy: `step ${index}` });

describe('layers: views, whiteouts, attribution', () => {
  const tmp: string[] = [];
  after(async () => {
    for (const d of tmp) await fs.rm(d, { recursive: true, force: true });
  });

  it('reads a tar layer and its whiteouts; an upper layer removes and replaces what lies below', async () => {
    const base = await catalogueLayer(
      tarView([
        await tarOf([
          { name: 'etc/os-release', body: 'ID=debian\nVERSION_ID="12"\n' },
          { name: 'var/lib/dpkg/status', body: DPKG_STATUS },
          { name: 'usr/share/doc/bsdutils/copyright', body: COPYRIGHT },
          { name: 'var/lib/dpkg/info/bsdutils.list', body: '/.\n/bin\n/bin/more\n' },
          { name: 'app/node_modules/a/package.json', body: '{"name":"a","version":"1.0.0"}' },
          { name: 'app/node_modules/b/package.json', body: '{"name":"b","version":"2.0.0"}' },
          { name: 'app/node_modules/c/package.json', body: '{"name":"c","version":"3.0.0"}' },
          { name: 'app/node_modules/c/test/package.json', body: '{"name":"fixture","version":"0.0.0"}' },
        ]),
      ]),
    );
    // Layer 1: b deleted (whiteout), c's directory made opaque with a new version, a package added to dpkg.
    const upper = await catalogueLayer(
      tarView([
        await tarOf([
          { name: 'app/node_modules/.wh.b' },
          { name: 'app/node_modules/c/.wh..wh..opq' },
          { name: 'app/node_modules/c/package.json', body: '{"name":"c","version":"3.1.0"}' },
          { name: 'var/lib/dpkg/status', body: DPKG_STATUS + '\nPackage: curl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 7.88.1-10\n' },
        ]),
      ]),
    );
    assert.deepEqual(upper.deleted, ['app/node_modules/b']);
    assert.deepEqual(upper.opaque, ['app/node_modules/c']);
    const inv = assemble([{ ref: ref(0), facts: base }, { ref: ref(1), facts: upper }]);
    assert.deepEqual(inv.distro, { id: 'debian', versionId: '12', prettyName: undefined });
    const got = inv.packages.map((p) => `${p.type} ${p.name} ${p.version} L${p.layer.index}`);
    assert.deepEqual(got, ['deb bsdutils 1:2.38.1-5+b1 L0', 'deb curl 7.88.1-10 L1', 'deb libc6 2.36-9+deb12u4 L0', 'npm a 1.0.0 L0', 'npm c 3.1.0 L1']);
    const bsd = inv.packages.find((p) => p.name === 'bsdutils')!;
    assert.deepEqual(bsd.licenses, ['GPL-2+', 'LGPL-2.1+']);
    assert.deepEqual(bsd.files, ['/bin', '/bin/more']);
    assert.equal(bsd.layer.createdBy, 'step 0');
    assert.equal(bsd.location, '/var/lib/dpkg/status');
    assert.equal(bsd.purl, 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12');
  });

  it('a deleted package database removes its packages; a malformed one is named while others are listed', async () => {
    const base = await catalogueLayer(tarView([await tarOf([{ name: 'lib/apk/db/installed', body: APK }, { name: 'srv/node_modules/x/package.json', body: '{"name":"x","version":"1.0.0"}' }])]));
    const upper = await catalogueLayer(tarView([await tarOf([{ name: 'lib/apk/db/.wh.installed' }, { name: 'srv/node_modules/y/package.json', body: '{"name": "y", "vers' }])]));
    const inv = assemble([{ ref: ref(0), facts: base }, { ref: ref(1), facts: upper }]);
    assert.deepEqual(inv.packages.map((p) => p.name), ['x']);
    assert.deepEqual(inv.warnings.length, 1);
    assert.match(inv.warnings[0]!, /^\/srv\/node_modules\/y\/package\.json: not valid JSON/);
  });

  it('lists lock-file entries only where the package is not installed', async () => {
    const lock = JSON.stringify({ lockfileVersion: 3, packages: { 'node_modules/a': { version: '1.0.0' }, 'node_modules/z': { version: '9.0.0' } } });
    const facts = await catalogueLayer(tarView([await tarOf([{ name: 'app/package-lock.json', body: lock }, { name: 'app/node_modules/a/package.json', body: '{"name":"a","version":"1.0.0"}' }])]));
    const inv = assemble([{ ref: ref(0), facts }]);
    assert.deepEqual(inv.packages.map((p) => `${p.name}@${p.version} ${p.location}`), ['a@1.0.0 /app/node_modules/a/package.json', 'z@9.0.0 /app/package-lock.json']);
  });

  it('reads an extracted layer directory in overlay form: 0:0 character devices and opaque xattrs', async () => {
    const lower = await fs.mkdtemp(path.join(os.tmpdir(), 'sbom-lower-'));
    const upper = await fs.mkdtemp(path.join(os.tmpdir(), 'sbom-upper-'));
    tmp.push(lower, upper);
    for (const [name, v] of [['a', '1.0.0'], ['b', '2.0.0'], ['c', '3.0.0']]) {
      await fs.mkdir(path.join(lower, 'app/node_modules', name!), { recursive: true });
      await fs.writeFile(path.join(lower, 'app/node_modules', name!, 'package.json'), JSON.stringify({ name, version: v }));
    }
    await fs.mkdir(path.join(upper, 'app/node_modules/c'), { recursive: true });
    await fs.writeFile(path.join(upper, 'app/node_modules/c/package.json'), JSON.stringify({ name: 'c', version: '3.2.0' }));
    assert.equal(spawnSync('mknod', [path.join(upper, 'app/node_modules/b'), 'c', '0', '0']).status, 0);
    assert.equal(spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(upper, 'app/node_modules/c')]).status, 0);
    const l0 = await catalogueLayer(dirView(lower));
    const l1 = await catalogueLayer(dirView(upper));
    assert.deepEqual(l1.deleted, ['app/node_modules/b']);
    assert.deepEqual(l1.opaque, ['app/node_modules/c']);
    const inv = assemble([{ ref: ref(0), facts: l0 }, { ref: ref(1), facts: l1 }]);
    assert.deepEqual(inv.packages.map((p) => `${p.name}@${p.version} L${p.layer.index}`), ['a@1.0.0 L0', 'c@3.2.0 L1']);
  });

  it('a package unchanged in an upper layer stays attributed to the layer that introduced it', async () => {
    const pj = (v: string) => [{ name: 'n/node_modules/p/package.json', body: `{"name":"p","version":"${v}"}` }];
    const l = [await tarOf(pj('1.0.0')), await tarOf(pj('1.0.0')), await tarOf(pj('2.0.0'))];
    const facts = await Promise.all(l.map((t) => catalogueLayer(tarView([t]))));
    assert.equal(assemble(facts.slice(0, 2).map((f, i) => ({ ref: ref(i), facts: f }))).packages[0]!.layer.index, 0);
    assert.equal(assemble(facts.map((f, i) => ({ ref: ref(i), facts: f }))).packages[0]!.layer.index, 2);
  });

  it('fails on a truncated tar stream rather than hanging', async () => {
    const t = await tarOf([{ name: 'a/node_modules/q/package.json', body: '{"name":"q","version":"1.0.0"}'.padEnd(5000) }]);
    await assert.rejects(catalogueLayer(tarView([t.subarray(0, 1000)])));
  });
});

describe('layer cache', () => {
  it('keeps facts per diff ID and ignores entries of another cataloguer version', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sbom-cache-'));
    try {
      const id = 'sha256:' + 'a'.repeat(64);
      const facts: LayerFacts = { fragments: { 'x/node_modules/p/package.json': { kind: 'npm', packages: [{ name: 'p', version: '1' }] } }, deleted: [], opaque: [] };
      await new LayerCache(root, 1).put(id, facts);
      assert.deepEqual(await new LayerCache(root, 1).get(id), facts);
      assert.equal(await new LayerCache(root, 2).get(id), undefined);
      await new LayerCache(root, 1).prune(new Set());
      assert.equal(await new LayerCache(root, 1).get(id), undefined);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});
