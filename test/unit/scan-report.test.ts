// `berth scan`'s outputs and client-side filters: the table as Trivy lays it out, SARIF 2.1.0 (validated
// against the parts of OASIS's schema a consumer relies on, and against the whole official schema when
// $BERTH_CONFORMANCE_DIR/sarif/sarif-schema-2.1.0.json is present), CycloneDX 1.5 (validated by
// @cyclonedx/cyclonedx-library's strict JSON validator), and the ignore file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { filterReport, type ScanReport } from '../../src/api/scan.js';
import { renderTable } from '../../src/cli/scan/table.js';
import { renderSarif } from '../../src/cli/scan/sarif.js';
import { renderCycloneDx } from '../../src/cli/scan/cyclonedx.js';
import { activeRules, ignorer, parseIgnoreFile } from '../../src/cli/scan/ignorefile.js';

const DIFF = 'sha256:' + 'a'.repeat(64);
const report: ScanReport = {
  SchemaVersion: 2,
  CreatedAt: '2026-01-02T03:04:05.000Z',
  ArtifactName: 'app:1',
  ArtifactType: 'container_image',
  Metadata: { OS: { Family: 'debian', Name: '12' }, ImageID: 'sha256:' + 'b'.repeat(64), DiffIDs: [DIFF], RepoTags: ['app:1'], RepoDigests: [] },
  Results: [
    {
      Target: 'app:1 (debian 12)',
      Class: 'os-pkgs',
      Type: 'debian',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-2024-0001',
          PkgName: 'libssl3',
          PkgSrcName: 'openssl',
          PkgIdentifier: { PURL: 'pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12' },
          InstalledVersion: '3.0.11-1',
          FixedVersion: '3.0.13-1',
          Status: 'fixed',
          Severity: 'CRITICAL',
          Title: 'openssl: a critical flaw',
          CVSS: { osv: { V3Vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', V3Score: 9.8 } },
          PrimaryURL: 'https://osv.dev/vulnerability/CVE-2024-0001',
          Layer: { DiffID: DIFF },
        },
        {
          VulnerabilityID: 'CVE-2024-0002',
          PkgName: 'zlib1g',
          PkgSrcName: 'zlib',
          PkgIdentifier: { PURL: 'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12' },
          InstalledVersion: '1:1.2.13.dfsg-1',
          Status: 'affected',
          Severity: 'LOW',
          Title: 'zlib: a small one',
        },
      ],
    },
    { Target: 'Node.js', Class: 'lang-pkgs', Type: 'node-pkg' },
    {
      Target: 'app/package-lock.json',
      Class: 'lang-pkgs',
      Type: 'npm',
      Vulnerabilities: [
        {
          VulnerabilityID: 'GHSA-aaaa-bbbb-cccc',
          Aliases: ['CVE-2024-0003'],
          PkgName: 'lodash',
          PkgPath: 'app/package-lock.json',
          PkgIdentifier: { PURL: 'pkg:npm/lodash@4.17.20' },
          InstalledVersion: '4.17.20',
          FixedVersion: '4.17.21',
          Status: 'fixed',
          Severity: 'HIGH',
          Title: 'prototype pollution',
          References: ['https://example.org/advisory'],
          PublishedDate: '2024-01-01T00:00:00Z',
        },
      ],
    },
  ],
};

describe('scan report formats', () => {
  it('the table: a heading per target, the Total line, the columns issue 12 names', () => {
    const text = renderTable(report);
    const lines = text.split('\n');
    assert.equal(lines[1], 'app:1 (debian 12)');
    assert.equal(lines[2], '=================');
    assert.equal(lines[3], 'Total: 2 (UNKNOWN: 0, LOW: 1, MEDIUM: 0, HIGH: 0, CRITICAL: 1)');
    assert.match(lines[5]!, /^LIBRARY\s+VULNERABILITY\s+SEVERITY\s+INSTALLED\s+FIXED\s+TITLE$/);
    assert.match(lines[6]!, /^libssl3\s+CVE-2024-0001\s+CRITICAL\s+3\.0\.11-1\s+3\.0\.13-1\s+openssl: a critical flaw$/);
    // Columns line up.
    assert.equal(lines[5]!.indexOf('VULNERABILITY'), lines[6]!.indexOf('CVE-2024-0001'));
    assert.ok(text.includes('\nNode.js\n=======\nTotal: 0 (UNKNOWN: 0, LOW: 0, MEDIUM: 0, HIGH: 0, CRITICAL: 0)\n'));
    assert.ok(text.includes('\napp/package-lock.json\n'));
  });

  it('SARIF 2.1.0: a rule per ID, a result per finding, levels and security-severity', () => {
    const sarif = renderSarif(report, '0.1.0') as { runs: { tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } }; results: { ruleId: string; ruleIndex: number; level: string; locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }[] }[] };
    const run = sarif.runs[0]!;
    assert.deepEqual(run.tool.driver.rules.map((r) => r.id), ['CVE-2024-0001', 'CVE-2024-0002', 'GHSA-aaaa-bbbb-cccc']);
    assert.deepEqual(run.results.map((r) => [r.ruleId, r.ruleIndex, r.level]), [['CVE-2024-0001', 0, 'error'], ['CVE-2024-0002', 1, 'note'], ['GHSA-aaaa-bbbb-cccc', 2, 'error']]);
    assert.equal(run.tool.driver.rules[0]!.properties['security-severity'], '9.8');
    assert.equal(run.tool.driver.rules[2]!.properties['security-severity'], '8.0');
    assert.deepEqual(run.results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri), ['app:1', 'app:1', 'app/package-lock.json']);
    const ajv = new Ajv({ strict: false, allErrors: true });
    assert.ok(ajv.validate(SARIF_SUBSET, sarif), JSON.stringify(ajv.errors));
    const official = path.join(process.env.BERTH_CONFORMANCE_DIR ?? '/nonexistent', 'sarif/sarif-schema-2.1.0.json');
    if (existsSync(official)) {
      // OASIS publishes it as draft-04; its keywords read the same under Ajv's default draft.
      const schema = JSON.parse(readFileSync(official, 'utf8').replace('"id":', '"$id":')) as Record<string, unknown>;
      delete schema.$schema;
      const full = new Ajv({ strict: false, allErrors: true, validateFormats: false });
      assert.ok(full.validate(schema, sarif), JSON.stringify(full.errors));
    }
  });

  it('CycloneDX 1.5: valid by the library\'s validator, with vulnerabilities, ratings and affects', async () => {
    const json = renderCycloneDx(report, '0.1.0');
    const errors = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot5).validate(json);
    assert.equal(errors, null, JSON.stringify(errors));
    const bom = JSON.parse(json) as { specVersion: string; metadata: { component: { type: string; name: string } }; components: { purl: string }[]; vulnerabilities: { id: string; ratings: { severity: string; score?: number; method?: string }[]; affects: { ref: string }[]; references?: { id: string }[] }[] };
    assert.equal(bom.specVersion, '1.5');
    assert.deepEqual(bom.metadata.component, { ...bom.metadata.component, type: 'container', name: 'app:1' });
    assert.equal(bom.components.length, 3);
    const v = Object.fromEntries(bom.vulnerabilities.map((x) => [x.id, x]));
    assert.deepEqual(v['CVE-2024-0001']!.ratings[0], { ...v['CVE-2024-0001']!.ratings[0], severity: 'critical', score: 9.8, method: 'CVSSv31' });
    assert.deepEqual(v['CVE-2024-0001']!.affects.map((a) => a.ref), ['pkg:deb/debian/libssl3@3.0.11-1?arch=amd64&distro=debian-12']);
    assert.deepEqual(v['GHSA-aaaa-bbbb-cccc']!.references!.map((r) => r.id), ['CVE-2024-0003']);
  });
});

describe('ignore file', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it('IDs and aliases, comments, expiry dates and package restrictions', () => {
    const rules = parseIgnoreFile(
      [
        '# accepted risks',
        'CVE-2024-0002',
        'CVE-2024-0003   # lodash, by its CVE alias',
        'CVE-2024-0001 exp:2026-01-01',
        'CVE-2024-0001 pkg:openssl exp:2027-01-01',
        'GHSA-zzzz pkg:npm/lodash@4.17.20',
        '',
      ].join('\n'),
      '.berthignore',
    );
    assert.deepEqual(rules.map((r) => [r.id, r.line, r.pkg, r.expires?.toISOString().slice(0, 10)]), [
      ['CVE-2024-0002', 2, undefined, undefined],
      ['CVE-2024-0003', 3, undefined, undefined],
      ['CVE-2024-0001', 4, undefined, '2026-01-01'],
      ['CVE-2024-0001', 5, 'openssl', '2027-01-01'],
      ['GHSA-zzzz', 6, 'npm/lodash@4.17.20', undefined],
    ]);
    const { active, expired } = activeRules(rules, now);
    assert.deepEqual(expired.map((r) => r.line), [4]);
    const left = filterReport(report, { ignore: ignorer(active) });
    // CVE-2024-0001 is ignored for the source package openssl (libssl3's), zlib's by ID, lodash's by alias.
    assert.deepEqual(left.Results.flatMap((r) => r.Vulnerabilities ?? []), []);
    const onlyPkg = filterReport(report, { ignore: ignorer(parseIgnoreFile('CVE-2024-0001 pkg:zlib1g\nGHSA-aaaa-bbbb-cccc pkg:npm/lodash\n', 'f')) });
    assert.deepEqual(onlyPkg.Results.flatMap((r) => (r.Vulnerabilities ?? []).map((v) => v.VulnerabilityID)), ['CVE-2024-0001', 'CVE-2024-0002']);
    const otherVersion = filterReport(report, { ignore: ignorer(parseIgnoreFile('GHSA-aaaa-bbbb-cccc pkg:npm/lodash@4.17.19\n', 'f')) });
    assert.ok(otherVersion.Results[2]!.Vulnerabilities?.length);
  });

  it('a malformed line is refused with the file and line named', () => {
    assert.throws(() => parseIgnoreFile('CVE-1\nCVE-2 exp:2026-13-01\n', '.berthignore'), /^Error: \.berthignore:2: invalid expiry "exp:2026-13-01": write exp:YYYY-MM-DD$/);
    assert.throws(() => parseIgnoreFile('CVE-2 until:2026-01-01\n', 'x'), /x:1: unexpected "until:2026-01-01" after CVE-2/);
  });
});

/** The parts of SARIF 2.1.0's schema (OASIS, sarif-schema-2.1.0.json) that code-scanning consumers rely on. */
const SARIF_SUBSET = {
  type: 'object',
  required: ['version', 'runs'],
  properties: {
    version: { const: '2.1.0' },
    $schema: { type: 'string', format: 'uri' },
    runs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['tool'],
        properties: {
          tool: {
            type: 'object',
            required: ['driver'],
            properties: {
              driver: {
                type: 'object',
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  version: { type: 'string' },
                  informationUri: { type: 'string' },
                  rules: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['id'],
                      properties: {
                        id: { type: 'string' },
                        shortDescription: { $ref: '#/$defs/message' },
                        fullDescription: { $ref: '#/$defs/message' },
                        help: { $ref: '#/$defs/message' },
                        defaultConfiguration: { type: 'object', properties: { level: { $ref: '#/$defs/level' } } },
                        properties: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' }, uniqueItems: true } } },
                      },
                    },
                  },
                },
              },
            },
          },
          results: {
            type: 'array',
            items: {
              type: 'object',
              required: ['message'],
              properties: {
                ruleId: { type: 'string' },
                ruleIndex: { type: 'integer', minimum: -1 },
                level: { $ref: '#/$defs/level' },
                message: { $ref: '#/$defs/message' },
                locations: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      physicalLocation: {
                        type: 'object',
                        properties: {
                          artifactLocation: { type: 'object', properties: { uri: { type: 'string' }, uriBaseId: { type: 'string' } } },
                          region: { type: 'object', properties: { startLine: { type: 'integer', minimum: 1 }, startColumn: { type: 'integer', minimum: 1 }, endLine: { type: 'integer', minimum: 1 }, endColumn: { type: 'integer', minimum: 1 } } },
                        },
                      },
                      message: { $ref: '#/$defs/message' },
                    },
                  },
                },
              },
            },
          },
          columnKind: { enum: ['utf16CodeUnits', 'unicodeCodePoints'] },
          originalUriBaseIds: { type: 'object', additionalProperties: { type: 'object', properties: { uri: { type: 'string' } } } },
        },
      },
    },
  },
  $defs: {
    level: { enum: ['none', 'note', 'warning', 'error'] },
    message: { type: 'object', anyOf: [{ required: ['text'] }, { required: ['id'] }], properties: { text: { type: 'string' }, markdown: { type: 'string' } } },
  },
};
