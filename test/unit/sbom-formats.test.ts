// The SBOM documents: CycloneDX 1.5 JSON (validated by @cyclonedx/cyclonedx-library's strict JSON
// schema validator) and SPDX 2.3 JSON (validated against SPDX's own schema, test/fixtures/spdx), with
// every package present once with its purl, version and licenses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ImageSbom } from '../../src/api/sbom.js';
import { packageRefs, spdxIdOf, toCycloneDxJson, toSpdx, validateCycloneDx } from '../../src/api/sbom-formats.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;

const layer = { index: 0, diffId: 'sha256:' + 'b'.repeat(64), createdBy: '/bin/sh -c #(nop) ADD file:abc in /' };
export const SAMPLE: ImageSbom = {
  image: { id: 'sha256:' + 'a'.repeat(64), repoTags: ['app:1'], repoDigests: [], os: 'linux', architecture: 'amd64' },
  distro: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
  layers: [layer],
  packages: [
    { name: 'bsdutils', version: '1:2.38.1-5+b1', type: 'deb', purl: 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?arch=amd64&distro=debian-12', sourceName: 'util-linux', sourceVersion: '2.38.1-5', arch: 'amd64', licenses: ['GPL-2+', 'LGPL-2.1+'], layer, location: '/var/lib/dpkg/status', files: ['/bin/more'] },
    { name: 'ajv', version: '8.12.0', type: 'npm', purl: 'pkg:npm/ajv@8.12.0', licenses: ['MIT'], layer, location: '/app/node_modules/ajv/package.json' },
    { name: 'ajv', version: '8.12.0', type: 'npm', purl: 'pkg:npm/ajv@8.12.0', licenses: ['(MIT OR Apache-2.0)'], layer, location: '/app/node_modules/x/node_modules/ajv/package.json' },
    { name: 'stdlib', version: 'v1.21.5', type: 'go', purl: 'pkg:golang/stdlib@v1.21.5', licenses: [], layer, location: '/usr/local/bin/app' },
    { name: 'flask', version: '3.0.0', type: 'pypi', purl: 'pkg:pypi/flask@3.0.0', licenses: ['BSD License'], layer, location: '/usr/lib/python3/dist-packages/flask-3.0.0.dist-info/METADATA' },
  ],
  warnings: [],
};

describe('CycloneDX 1.5', () => {
  it('is valid by the library\'s strict schema validator and lists every package once', async () => {
    const text = toCycloneDxJson(SAMPLE);
    await validateCycloneDx(text);
    const doc = JSON.parse(text) as { specVersion: string; bomFormat: string; metadata: { component: { type: string; name: string } }; components: { type: string; name: string; version: string; purl?: string; 'bom-ref': string }[]; dependencies: { ref: string; dependsOn?: string[] }[] };
    assert.equal(doc.bomFormat, 'CycloneDX');
    assert.equal(doc.specVersion, '1.5');
    assert.deepEqual(doc.metadata.component, { ...doc.metadata.component, type: 'container', name: 'app:1' });
    const libs = doc.components.filter((c) => c.type === 'library');
    assert.deepEqual(libs.map((c) => c.purl).sort(), SAMPLE.packages.map((p) => p.purl).sort());
    assert.equal(new Set(libs.map((c) => c['bom-ref'])).size, libs.length, 'bom-refs are unique');
    assert.deepEqual(doc.components.find((c) => c.type === 'operating-system'), { ...doc.components.find((c) => c.type === 'operating-system'), name: 'debian', version: '12' });
    assert.deepEqual(packageRefs(SAMPLE.packages).slice(1, 3), ['pkg:npm/ajv@8.12.0#/app/node_modules/ajv/package.json', 'pkg:npm/ajv@8.12.0#/app/node_modules/x/node_modules/ajv/package.json']);
  });
  it('the validator refuses a broken document', async () => {
    const doc = JSON.parse(toCycloneDxJson(SAMPLE)) as { components: { type: string }[] };
    doc.components[0]!.type = 'no-such-type';
    await assert.rejects(validateCycloneDx(JSON.stringify(doc)), /invalid CycloneDX 1\.5 document/);
  });
});

describe('license names', () => {
  it('maps Debian short names and SPDX ids; leaves the rest', () => {
    assert.equal(spdxIdOf('GPL-2+'), 'GPL-2.0-or-later');
    assert.equal(spdxIdOf('GPL-3'), 'GPL-3.0-only');
    assert.equal(spdxIdOf('LGPL-2.1+'), 'LGPL-2.1-or-later');
    assert.equal(spdxIdOf('Expat'), 'MIT');
    assert.equal(spdxIdOf('BSD-3-clause'), 'BSD-3-Clause');
    assert.equal(spdxIdOf('Apache-2.0'), 'Apache-2.0');
    assert.equal(spdxIdOf('public-domain'), undefined);
  });
});

describe('SPDX 2.3', () => {
  const schema = JSON.parse(readFileSync(path.join(REPO, 'test/fixtures/spdx/spdx-schema-2.3.json'), 'utf8')) as object;
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const validate = ajv.compile(schema);
  it('is valid by SPDX\'s JSON schema', () => {
    const doc = toSpdx(SAMPLE);
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 1));
    assert.equal(doc.packages.length, SAMPLE.packages.length + 1);
    const purls = doc.packages.flatMap((p) => ((p.externalRefs as { referenceLocator: string }[] | undefined) ?? []).map((r) => r.referenceLocator));
    assert.deepEqual(purls.sort(), SAMPLE.packages.map((p) => p.purl).sort());
    assert.equal(doc.relationships.filter((r) => r.relationshipType === 'CONTAINS').length, SAMPLE.packages.length);
    // Non-SPDX license names become LicenseRef-… with their text declared.
    const bsd = doc.packages.find((p) => p.name === 'bsdutils')!;
    assert.equal(bsd.licenseDeclared, 'GPL-2.0-or-later AND LGPL-2.1-or-later'); // Debian's GPL-2+ and LGPL-2.1+
    const flask = doc.packages.find((p) => p.name === 'flask')!;
    assert.equal(flask.licenseDeclared, 'LicenseRef-BSD-License');
    assert.ok(doc.hasExtractedLicensingInfos!.some((l) => l.licenseId === 'LicenseRef-BSD-License' && l.extractedText === 'BSD License'));
  });
  it('the schema refuses a broken document', () => {
    const doc = toSpdx(SAMPLE) as unknown as Record<string, unknown>;
    delete doc.SPDXID;
    assert.equal(validate(doc), false);
  });
});
