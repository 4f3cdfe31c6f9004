// berth's CycloneDX read back (src/api/sbom-from-cyclonedx.ts), as a scan of a remote image's attached SBOM
// does: every fact the matcher uses survives the round trip (name, version, type, purl, source package,
// arch, location, layer, distro, the image's layers and warnings); a document berth did not write, or one
// missing what the matcher needs, is refused with a message naming what is missing.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageSbom, Package } from '../../src/api/sbom.js';
import { toCycloneDxJson } from '../../src/api/sbom-formats.js';
import { sbomFromCycloneDx } from '../../src/api/sbom-from-cyclonedx.js';

const base = { index: 0, diffId: 'sha256:' + 'b'.repeat(64), createdBy: '/bin/sh -c #(nop) ADD file:abc in /' };
const top = { index: 2, diffId: 'sha256:' + 'd'.repeat(64), createdBy: 'RUN npm ci' };
const SAMPLE: ImageSbom = {
  image: { id: 'sha256:' + 'a'.repeat(64), repoTags: ['app:1'], repoDigests: [], os: 'linux', architecture: 'amd64' },
  distro: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  // The middle layer has no packages: it is still one of the image's layers.
  layers: [base, { index: 1, diffId: 'sha256:' + 'c'.repeat(64) }, top],
  packages: [
    { name: 'bsdutils', version: '1:2.38.1-5+b1', type: 'deb', purl: 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12', sourceName: 'util-linux', sourceVersion: '2.38.1-5', arch: 'amd64', licenses: ['GPL-2+'], layer: base, location: '/var/lib/dpkg/status', files: ['/bin/more'] },
    { name: 'ajv', version: '8.12.0', type: 'npm', purl: 'pkg:npm/ajv@8.12.0', licenses: ['MIT'], layer: top, location: '/app/node_modules/ajv/package.json' },
    { name: 'ajv', version: '8.12.0', type: 'npm', purl: 'pkg:npm/ajv@8.12.0', licenses: ['(MIT OR Apache-2.0)'], layer: top, location: '/app/node_modules/x/node_modules/ajv/package.json' },
    { name: 'stdlib', version: 'v1.21.5', type: 'go', purl: 'pkg:golang/stdlib@v1.21.5', licenses: [], layer: top, location: '/usr/local/bin/app' },
    { name: 'flask', version: '3.0.0', type: 'pypi', purl: 'pkg:pypi/flask@3.0.0', licenses: ['BSD License'], layer: base, location: '/usr/lib/python3/dist-packages/flask-3.0.0.dist-info/METADATA' },
    { name: 'musl', version: '1.2.4-r2', type: 'apk', purl: 'pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64', sourceName: 'musl', licenses: ['MIT'], layer: base, location: '/lib/apk/db/installed' },
  ],
  warnings: ['/var/lib/dpkg/status.d/broken: not a dpkg status file'],
};

/** What the matcher reads of a package (not its licenses' spelling or its file list). */
const matchable = (p: Package) => ({ name: p.name, version: p.version, type: p.type, purl: p.purl, sourceName: p.sourceName, sourceVersion: p.sourceVersion, arch: p.arch, location: p.location, layer: p.layer });

describe('CycloneDX → packages', () => {
  it('reads back everything the matcher uses from berth\'s own CycloneDX', () => {
    const back = sbomFromCycloneDx(toCycloneDxJson(SAMPLE));
    assert.deepEqual(back.packages.map(matchable), SAMPLE.packages.map(matchable));
    assert.deepEqual(back.distro, SAMPLE.distro);
    assert.deepEqual(back.layers.map((l) => [l.index, l.diffId]), SAMPLE.layers.map((l) => [l.index, l.diffId]));
    assert.equal(back.layers[2]!.createdBy, 'RUN npm ci', 'a layer\'s step comes back from its packages');
    assert.deepEqual(back.image, { ...SAMPLE.image, repoTags: [] }, 'ID and platform (the name is the scan\'s to give)');
    assert.deepEqual(back.warnings, SAMPLE.warnings);
    // Licenses come back as CycloneDX holds them (SPDX ids where there are some).
    assert.deepEqual(back.packages.map((p) => p.licenses), [['GPL-2.0-or-later'], ['MIT'], ['MIT OR Apache-2.0'], [], ['BSD License'], ['MIT']]);
  });

  it('an image without a distro or packages reads back as one', () => {
    const empty: ImageSbom = { ...SAMPLE, distro: undefined, packages: [], warnings: [] };
    delete empty.distro;
    const back = sbomFromCycloneDx(toCycloneDxJson(empty));
    assert.deepEqual([back.distro, back.packages, back.layers.length], [undefined, [], 3]);
  });

  it('refuses what berth did not write, naming what is missing', () => {
    assert.throws(() => sbomFromCycloneDx('{"bomFormat": "CycloneDX", '), /the SBOM is not JSON/);
    assert.throws(() => sbomFromCycloneDx('{"spdxVersion": "SPDX-2.3"}'), /not a CycloneDX document/);
    assert.throws(() => sbomFromCycloneDx('null'), /not a CycloneDX document/);
    assert.throws(() => sbomFromCycloneDx('{"bomFormat": "CycloneDX", "metadata": {"component": {"type": "container", "name": "x"}}}'), /not written by berth: metadata.component has no berth:image:id/);
    const doc = JSON.parse(toCycloneDxJson(SAMPLE)) as { components: { type: string; name: string; properties: { name: string }[]; version?: string }[] };
    const lib = doc.components.find((c) => c.name === 'bsdutils')!;
    lib.properties = lib.properties.filter((p) => p.name !== 'berth:package:type');
    assert.throws(() => sbomFromCycloneDx(JSON.stringify(doc)), /component \d+ \(bsdutils\) has no berth:package:type property/);
    delete lib.version;
    assert.throws(() => sbomFromCycloneDx(JSON.stringify(doc)), /component \d+ \(bsdutils\) lacks a name, version or purl/);
  });
});
