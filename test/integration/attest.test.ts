// Signed, attached SBOMs (issue 12 item 6) on one daemon and `berth registry serve`: `berth sbom --attach REF
// --key KEY` (or BERTH_TRUST_KEY) signs the SBOM referrer, and `berth scan REMOTE-REF` then reads the
// packages from it instead of the layers — with the same findings — when its signature verifies with a
// trusted key (--key PUB, or BERTH_TRUST_KEYS); an SBOM that is unsigned, signed by another key or whose
// signature was tampered with is not used (the layers are, and stderr says why). Bad inputs: --key without
// --attach, a wrong passphrase (nothing attached).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { busyboxTar, REPO, runCmd, TestDaemon, type RunResult } from './harness.js';
import { startRegistryServe, type RegistryServe } from '../support/registry-serve.js';
import { startDistribution } from '../support/distribution.js';
import { appImageTar, osv, writeOsvDir } from '../support/scan-fixture.js';
import type { ScanReport } from '../../src/api/scan.js';
import { importPath } from '../../src/engine/scan/db.js';
import { buildPayload, pushSignature, signPayload } from '../../src/distribution/cosign.js';
import { loadPrivateKey } from '../../src/distribution/signing-keys.js';
import { RegistryClient } from '../../src/distribution/registry.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');
const PASS = 'correct horse';
const DEBS = [
  { name: 'libsslx3', version: '3.0.11-1~deb12u2', source: 'opensslx' },
  { name: 'opensslx', version: '3.0.11-1~deb12u2' },
  { name: 'busyboxx', version: '1:1.35.0-4+b3', source: 'busyboxx', sourceVersion: '1:1.35.0-4' },
];
const NPM = [{ name: 'left-padx', version: '1.1.0' }];
const RECORDS = [
  osv('DSA-9001-1', 'Debian:12', 'opensslx', { fixed: '3.0.13-1~deb12u1' }),
  osv('DSA-9003-1', 'Debian:12', 'busyboxx', { fixed: '1:1.35.0-4+deb12u1' }),
  osv('GHSA-plnt-0001-0001', 'npm', 'left-padx', { fixed: '1.3.0' }),
  osv('DSA-9101-1', 'Debian:12', 'libsslx3', { fixed: '9.9' }),
];
const EXPECTED = ['busyboxx DSA-9003-1', 'left-padx GHSA-plnt-0001-0001', 'libsslx3 DSA-9001-1', 'opensslx DSA-9001-1'];

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}
const found = (r: ScanReport): string[] => r.Results.flatMap((t) => (t.Vulnerabilities ?? []).map((v) => `${v.PkgName} ${v.VulnerabilityID}`)).sort();
const attachedDigest = (r: RunResult): string => /Attached SBOM (sha256:[a-f0-9]{64})/.exec(r.stderr)?.[1] ?? assert.fail(`no digest in: ${r.stderr}`);

describe('attested SBOMs: sbom --attach --key, and scan using them', () => {
  let d: TestDaemon;
  let dir: string;
  let reg: RegistryServe;
  /** The layer scan's report of each repository, to compare the SBOM scan's with. */
  const layerScan = new Map<string, ScanReport>();
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ BERTH_PASSWORD: PASS, HOME: dir, BERTH_TRUST_KEY: '', BERTH_TRUST_KEYS: '', ...extra });
  const berth = (args: string[], e: NodeJS.ProcessEnv = env()) => d.berth(args, { env: e, cwd: dir });
  const ref = (repo: string) => `${reg.host}/${repo}:1`;
  const scan = async (repo: string, args: string[] = [], e?: NodeJS.ProcessEnv) => {
    const r = ok(await berth(['scan', '--remote', '--format', 'json', ...args, ref(repo)], e), `scan ${repo}`);
    return { report: JSON.parse(r.stdout) as ScanReport, stderr: r.stderr };
  };
  /** The parts of a report that must not depend on where the packages came from. */
  const same = (a: ScanReport, b: ScanReport) => {
    // The same image pushed to several repositories: compared with the repository's name taken out.
    const norm = (r: ScanReport) => JSON.parse(JSON.stringify({ Metadata: r.Metadata, Results: r.Results }).replace(/\/(signed|envsigned|unsigned|tampered)([:@])/g, '/REPO$2')) as unknown;
    assert.deepEqual(norm(a), norm(b));
  };

  before(async () => {
    d = await TestDaemon.start();
    dir = await fs.mkdtemp('/tmp/bt-attest-');
    reg = await startRegistryServe(path.join(dir, 'registry'));
    for (const name of ['release', 'other']) ok(await runCmd([process.execPath, CLI, 'trust', 'key', 'generate', name], { env: env(), cwd: dir }), `key generate ${name}`);
    const tar = await appImageTar(await busyboxTar(), dir, DEBS, NPM);
    ok(await berth(['import', tar, 'attestapp:1']), 'import');
    await writeOsvDir(path.join(dir, 'osv'), RECORDS);
    await importPath(path.join(d.root, 'vulndb'), path.join(dir, 'osv'));
    for (const repo of ['signed', 'envsigned', 'unsigned', 'tampered']) {
      ok(await berth(['tag', 'attestapp:1', ref(repo)]), `tag ${repo}`);
      ok(await berth(['push', '-q', ref(repo)]), `push ${repo}`);
    }
  });
  after(async () => {
    await reg?.stop();
    await d?.cleanup();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('attaches and signs; the signature verifies as any image signature does', async () => {
    const r = ok(await berth(['sbom', '--attach', ref('signed'), '--key', 'release.key']), 'attach signed');
    const digest = attachedDigest(r);
    assert.match(r.stderr, new RegExp(`Signed SBOM ${digest} with release\\.key: ${reg.host}/signed:sha256-[a-f0-9]{64}\\.sig and referrer sha256:`));
    const v = ok(await berth(['trust', 'verify', '--key', 'release.pub', `${reg.host}/signed@${digest}`]), 'verify the SBOM referrer');
    assert.match(v.stdout, new RegExp(`The payload names ${reg.host}/signed and the digest ${digest}`));
    // BERTH_TRUST_KEY signs as --key does.
    const e = ok(await berth(['sbom', '--attach', ref('envsigned')], env({ BERTH_TRUST_KEY: 'release.key' })), 'attach with BERTH_TRUST_KEY');
    assert.match(e.stderr, /Signed SBOM sha256:[a-f0-9]{64} with release\.key/);
  });

  it('a remote scan uses the signed SBOM, with the same findings as the layer scan', async () => {
    // Not trusted (another key): the layers, and why.
    const other = await scan('signed', ['--key', 'other.pub']);
    assert.match(other.stderr, new RegExp(`not using an attached SBOM \\(the SBOM sha256:[a-f0-9]{64}: has no valid signature from a trusted key \\(keys tried: other\\.pub\\).*\\): scanned the layers of ${reg.host}/signed:1`));
    assert.deepEqual(found(other.report), EXPECTED);
    layerScan.set('layers', other.report);
    const signed = await scan('signed', ['--key', 'release.pub']);
    assert.match(signed.stderr, new RegExp(`^using the signed SBOM attached to ${reg.host}/signed:1 \\(sha256:[a-f0-9]{64}\\)$`, 'm'));
    assert.deepEqual(found(signed.report), EXPECTED);
    same(signed.report, other.report);
    // The keys of content trust, with no --key.
    const viaEnv = await scan('envsigned', [], env({ BERTH_TRUST_KEYS: path.join(dir, 'release.pub') }));
    assert.match(viaEnv.stderr, /^using the signed SBOM attached to .*envsigned:1 \(sha256:/m);
    same(viaEnv.report, other.report);
  });

  it('an unsigned attachment is not used; a wrong passphrase attaches nothing', async () => {
    const wrong = await berth(['sbom', '--attach', ref('unsigned'), '--key', 'release.key'], env({ BERTH_PASSWORD: 'nope' }));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /release\.key/);
    assert.doesNotMatch(wrong.stderr, /Attached SBOM|TypeError/);
    const none = await scan('unsigned', ['--key', 'release.pub']);
    assert.match(none.stderr, /not using an attached SBOM \(no SBOM is attached to sha256:[a-f0-9]{64}\): scanned the layers/);
    ok(await berth(['sbom', '--attach', ref('unsigned')]), 'attach unsigned');
    const r = await scan('unsigned', ['--key', 'release.pub']);
    assert.match(r.stderr, /not using an attached SBOM \(the SBOM sha256:[a-f0-9]{64}: is not signed: no signatures found/);
    same(r.report, layerScan.get('layers')!);
    const noKeys = await scan('unsigned');
    assert.match(noKeys.stderr, /not using an attached SBOM \(no trusted keys to verify an attached SBOM with/);
    // A missing image is reported as the layer scan reports it, not as a failed SBOM lookup.
    const missing = await berth(['scan', '--remote', '--key', 'release.pub', `${reg.host}/nosuch:1`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nosuch|name unknown/); // h-scan's branch adds the reference to the message
    assert.doesNotMatch(missing.stderr, /TypeError|attached SBOM/);
    const misuse = await berth(['sbom', '--key', 'release.key', 'attestapp:1']);
    assert.equal(misuse.code, 1);
    assert.match(misuse.stderr, /--key signs an attached SBOM: use it with --attach REF/);
  });

  it('a registry without the referrers API (distribution 2.8): the layers, and why', async () => {
    const dist = await startDistribution();
    try {
      const dref = `127.0.0.1:${dist.port}/app:1`;
      ok(await berth(['tag', 'attestapp:1', dref]), 'tag');
      ok(await berth(['push', '-q', dref]), 'push');
      const r = ok(await berth(['scan', '--remote', '--format', 'json', '--key', 'release.pub', dref]), 'scan');
      assert.match(r.stderr, /not using an attached SBOM \(the registry does not answer the OCI referrers API\): scanned the layers/);
      assert.deepEqual(found(JSON.parse(r.stdout) as ScanReport), EXPECTED);
    } finally {
      await dist.stop();
    }
  });

  it('a tampered signature is not used', async () => {
    const digest = attachedDigest(ok(await berth(['sbom', '--attach', ref('tampered')]), 'attach'));
    // A payload for exactly this SBOM, signed by the trusted key, whose signature is then altered.
    const key = loadPrivateKey(readFileSync(path.join(dir, 'release.key')), PASS, 'release.key');
    const payload = buildPayload(`${reg.host}/tampered`, digest);
    const good = Buffer.from(signPayload(key, payload), 'base64');
    good[good.length - 1] ^= 0x01;
    const client = new RegistryClient({ host: reg.host, auth: {}, insecure: [] });
    const m = await client.getManifest('tampered', digest);
    await pushSignature(client, 'tampered', { mediaType: m.mediaType, digest, size: m.body.length }, payload, good.toString('base64'));
    const r = await scan('tampered', ['--key', 'release.pub']);
    assert.match(r.stderr, /not using an attached SBOM \(the SBOM sha256:[a-f0-9]{64}: has no valid signature from a trusted key .*signature does not verify with any trusted key/);
    same(r.report, layerScan.get('layers')!);
  });
});
