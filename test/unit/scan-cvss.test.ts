import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cvss, cvss3, roundup31 } from '../../src/engine/scan/cvss.js';

// Vectors and base scores from FIRST's "CVSS v3.1: Examples" document (CVE, vector, score, rating).
const EXAMPLES: Array<[string, string, number, string]> = [
  ['CVE-2013-1937 phpMyAdmin reflected XSS', 'AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1, 'MEDIUM'],
  ['CVE-2013-0375 MySQL stored SQL injection', 'AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4, 'MEDIUM'],
  ['CVE-2014-3566 SSLv3 POODLE', 'AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N', 3.1, 'LOW'],
  ['CVE-2012-1516 VMware guest to host escape', 'AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H', 9.9, 'CRITICAL'],
  ['CVE-2009-0783 Apache Tomcat XML parser', 'AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L', 4.2, 'MEDIUM'],
  ['CVE-2012-0384 Cisco IOS command execution', 'AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H', 8.8, 'HIGH'],
  ['CVE-2015-1098 Apple iWork denial of service', 'AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8, 'HIGH'],
  ['CVE-2014-0160 OpenSSL Heartbleed', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5, 'HIGH'],
  ['CVE-2014-6271 GNU Bash Shellshock', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'CRITICAL'],
  ['CVE-2008-1447 DNS Kaminsky bug', 'AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N', 6.8, 'MEDIUM'],
  ['CVE-2014-2005 Sophos login screen bypass', 'AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8, 'MEDIUM'],
  ['CVE-2010-0467 Joomla directory traversal', 'AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N', 5.8, 'MEDIUM'],
  ['CVE-2012-1342 Cisco access control bypass', 'AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N', 5.8, 'MEDIUM'],
  ['CVE-2013-6014 Juniper proxy ARP denial of service', 'AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H', 9.3, 'CRITICAL'],
  ['CVE-2014-9253 DokuWiki reflected XSS', 'AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N', 5.4, 'MEDIUM'],
  ['CVE-2011-1265 Microsoft Windows Bluetooth RCE', 'AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 8.8, 'HIGH'],
  ['CVE-2014-2019 Apple iOS security control bypass', 'AV:P/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N', 4.6, 'MEDIUM'],
  ['CVE-2015-0970 SearchBlox CSRF', 'AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8, 'HIGH'],
  ['CVE-2014-0224 OpenSSL CCS injection', 'AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N', 7.4, 'HIGH'],
  ['CVE-2016-1645 Google Chrome PDFium', 'AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 8.8, 'HIGH'],
  ['CVE-2016-0128 Windows SAM/LSAD downgrade (Badlock)', 'AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N', 6.8, 'MEDIUM'],
  ['CVE-2016-5729 Lenovo BIOS privilege escalation', 'AV:L/AC:L/PR:H/UI:N/S:C/C:H/I:H/A:H', 8.2, 'HIGH'],
];

test('CVSS v3.1 base scores of the specification examples', () => {
  for (const [name, v, score, rating] of EXAMPLES) {
    assert.deepEqual(cvss3(`CVSS:3.1/${v}`), { score, severity: rating }, name);
  }
});

test('CVSS: well-known vectors, scope changes and the zero-impact case', () => {
  assert.deepEqual(cvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), { score: 9.8, severity: 'CRITICAL' });
  assert.deepEqual(cvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), { score: 10, severity: 'CRITICAL' });
  assert.deepEqual(cvss3('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N'), { score: 5.5, severity: 'MEDIUM' });
  assert.deepEqual(cvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'), { score: 0, severity: 'NONE' });
  assert.deepEqual(cvss3('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), { score: 9.8, severity: 'CRITICAL' });
  // Temporal/environmental metrics are accepted and do not change the base score.
  assert.deepEqual(cvss3('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/E:P/RL:O/RC:C'), { score: 7.5, severity: 'HIGH' });
});

test('CVSS v3.1 Roundup avoids floating-point surprises (Appendix A)', () => {
  assert.equal(roundup31(4.0), 4.0);
  assert.equal(roundup31(4.02), 4.1);
  assert.equal(roundup31(4.000000001), 4.0);
  assert.equal(roundup31(9.999), 10);
});

test('CVSS v2 and v4 vectors are recognised and reported as unscored', () => {
  assert.deepEqual(cvss('AV:N/AC:L/Au:N/C:P/I:P/A:P'), { version: '2.0', vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' });
  const v4 = 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N';
  assert.deepEqual(cvss(v4), { version: '4.0', vector: v4 });
  assert.equal(cvss3(v4), undefined);
});

test('CVSS: malformed vectors are errors naming the problem, never exceptions', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['', /empty/],
    [undefined, /empty/],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H', /lacks the base metric\(s\) A/],
    ['CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /invalid value "X" for CVSS metric AV/],
    ['CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /AV given twice/],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:Q', /unknown CVSS metric "ZZ"/],
    ['CVSS:3.1/AV:N//AC:L', /malformed CVSS metric/],
    ['CVSS:3.2/AV:N', /unrecognised CVSS vector/],
    ['HIGH', /unrecognised CVSS vector/],
  ];
  for (const [v, re] of cases) {
    const r = cvss(v as string);
    assert.ok('error' in r && re.test(r.error), `${String(v)} → ${JSON.stringify(r)}`);
  }
});
