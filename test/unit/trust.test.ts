// Signatures and trust policy: cosign's payload byte for byte, signing and verifying, the key files
// (encryption round trip, wrong passphrase, wrong key types), the policy parser's errors with their line,
// rule matching, and a sign → store → fetch → verify round trip against berth's registry server in-process.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  buildPayload,
  checkSignatures,
  fetchSignatures,
  loadPublicKey,
  parsePayload,
  payloadReference,
  pushSignature,
  signatureTag,
  signPayload,
  verifyPayload,
  SIGNATURE_ANNOTATION,
  SIMPLESIGNING_MEDIA_TYPE,
  type FoundSignature,
} from '../../src/distribution/cosign.js';
import { generateSigningKeyPair, loadPrivateKey, needsPassphrase } from '../../src/distribution/signing-keys.js';
import { RegistryClient, readAll } from '../../src/distribution/registry.js';
import { parseNormalizedNamed } from '../../src/image-spec/reference.js';
import { candidateScopes, decide, parsePolicy } from '../../src/engine/trust/policy.js';
import { parseJsonWithLines } from '../../src/engine/trust/json-lines.js';
import { RegistryServer } from '../../src/registry/server.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);
const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(!(e instanceof TypeError), `a TypeError: ${(e as Error).message}`);
    return (e as Error).message;
  }
  assert.fail('expected an error');
}

describe('cosign payload', () => {
  it('is the exact bytes cosign marshals', () => {
    assert.equal(
      buildPayload('127.0.0.1:5000/app', D1).toString(),
      `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/app"},"image":{"docker-manifest-digest":"${D1}"},"type":"cosign container image signature"},"optional":null}`,
    );
    // Annotations: Go's map order (sorted keys) and HTML escaping.
    assert.equal(
      buildPayload('r/a', D1, { z: '1', a: '<&>' }).toString(),
      `{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"${D1}"},"type":"cosign container image signature"},"optional":{"a":"\\u003c\\u0026\\u003e","z":"1"}}`,
    );
  });

  it('names Docker Hub repositories as cosign does', () => {
    assert.equal(payloadReference(parseNormalizedNamed('busybox:1')), 'index.docker.io/library/busybox');
    assert.equal(payloadReference(parseNormalizedNamed('127.0.0.1:5000/team/app:1')), '127.0.0.1:5000/team/app');
  });

  it('parses and refuses', () => {
    const p = parsePayload(buildPayload('r/a', D1));
    assert.deepEqual(p, { dockerReference: 'r/a', manifestDigest: D1, type: 'cosign container image signature', optional: null });
    assert.match(messageOf(() => parsePayload(Buffer.from('nope'))), /not JSON/);
    assert.match(messageOf(() => parsePayload(Buffer.from('{"critical":{}}'))), /lacks critical.identity.docker-reference/);
    assert.match(messageOf(() => parsePayload(Buffer.from('{"critical":{"identity":{"docker-reference":"a"},"image":{"docker-manifest-digest":"x"},"type":"other"}}'))), /type is "other"/);
    assert.match(messageOf(() => buildPayload('r/a', 'sha256:abc')), /invalid manifest digest/);
  });

  it('signature tag', () => {
    assert.equal(signatureTag(D1), `sha256-${'1'.repeat(64)}.sig`);
  });
});

describe('signing keys', () => {
  const pair = generateSigningKeyPair('s3cret');

  it('round trip: encrypted PKCS#8 PEM, opened with the passphrase, signs what the public key verifies', () => {
    assert.match(pair.privatePem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assert.match(pair.publicPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.ok(needsPassphrase(pair.privatePem));
    const key = loadPrivateKey(pair.privatePem, 's3cret', 'release.key');
    const payload = buildPayload('r/a', D1);
    const sig = signPayload(key, payload);
    const pub = loadPublicKey(pair.publicPem, 'release.pub');
    assert.ok(verifyPayload(pub, payload, sig));
    assert.ok(!verifyPayload(pub, buildPayload('r/a', D2), sig), 'another payload');
    assert.ok(!verifyPayload(pub, payload, ''), 'empty signature');
    assert.ok(!verifyPayload(pub, payload, 'bm90IGEgc2lnbmF0dXJl'), 'garbage signature');
    const other = loadPublicKey(generateSigningKeyPair('x').publicPem, 'other.pub');
    assert.ok(!verifyPayload(other, payload, sig), 'another key');
  });

  it('wrong passphrase', () => {
    assert.equal(messageOf(() => loadPrivateKey(pair.privatePem, 'wrong', 'release.key')), 'wrong passphrase for release.key (or the key file is damaged)');
    assert.match(messageOf(() => loadPrivateKey(pair.privatePem, '', 'release.key')), /wrong passphrase for release.key/);
    assert.match(messageOf(() => generateSigningKeyPair('')), /empty passphrase/);
  });

  it('key files of the wrong type', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ed = generateKeyPairSync('ed25519');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const pkcs8 = (k: typeof rsa.privateKey) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
    const spki = (k: typeof rsa.publicKey) => k.export({ type: 'spki', format: 'pem' }) as string;
    assert.match(messageOf(() => loadPrivateKey(pkcs8(rsa.privateKey), '', 'rsa.key')), /rsa.key is an RSA key: berth signs and verifies with ECDSA P-256 keys only/);
    assert.match(messageOf(() => loadPrivateKey(pkcs8(ed.privateKey), '', 'ed.key')), /ed.key is an ED25519 key/);
    assert.match(messageOf(() => loadPrivateKey(pkcs8(p384.privateKey), '', 'p384.key')), /curve secp384r1/);
    assert.match(messageOf(() => loadPublicKey(spki(rsa.publicKey), 'rsa.pub')), /rsa.pub is an RSA key/);
    assert.match(messageOf(() => loadPublicKey(spki(ed.publicKey), 'ed.pub')), /ed.pub is an ED25519 key/);
    assert.match(messageOf(() => loadPrivateKey('garbage', '', 'junk.key')), /junk.key is not a PEM private key/);
    assert.match(messageOf(() => loadPublicKey('garbage', 'junk.pub')), /junk.pub is not a PEM public key/);
    assert.match(messageOf(() => loadPrivateKey(pair.publicPem, '', 'release.pub')), /is a public key: signing takes the private key/);
    assert.match(messageOf(() => loadPublicKey(pair.privatePem, 'release.key')), /is a private key: verification takes the public key/);
    assert.match(messageOf(() => loadPrivateKey('-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n', 'x', 'cosign.key')), /cosign-format key/);
    assert.match(messageOf(() => loadPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', 'broken.pub')), /broken.pub: cannot read the public key/);
  });
});

describe('checking signatures', () => {
  const pair = generateSigningKeyPair('p');
  const key = loadPrivateKey(pair.privatePem, 'p', 'k');
  const keys = [{ name: 'release.pub', key: loadPublicKey(pair.publicPem, 'release.pub') }];
  const ref = parseNormalizedNamed('127.0.0.1:5000/app:1');
  const sig = (repo: string, digest: string, k = key): FoundSignature => {
    const payload = buildPayload(repo, digest);
    return { payload, signature: signPayload(k, payload), source: 'tag x.sig' };
  };

  it('accepts a signature over this digest naming this repository', () => {
    const v = checkSignatures(ref, D1, [sig('127.0.0.1:5000/app', D1)], keys);
    assert.equal(v.key, 'release.pub');
    assert.equal(v.digest, D1);
  });

  it('refuses: unsigned, another digest, another image, another key', () => {
    assert.equal(messageOf(() => checkSignatures(ref, D1, [], keys)), `127.0.0.1:5000/app:1@${D1} is not signed: no signatures found (keys tried: release.pub)`);
    assert.match(messageOf(() => checkSignatures(ref, D1, [sig('127.0.0.1:5000/app', D2)], keys)), new RegExp(`signed by release.pub but for another digest \\(${D2}\\)`));
    assert.match(messageOf(() => checkSignatures(ref, D1, [sig('127.0.0.1:5000/other', D1)], keys)), /signed by release.pub but for another image \(127.0.0.1:5000\/other\)/);
    const stranger = loadPrivateKey(generateSigningKeyPair('q').privatePem, 'q', 'q');
    const m = messageOf(() => checkSignatures(ref, D1, [sig('127.0.0.1:5000/app', D1, stranger)], keys));
    assert.match(m, /^127.0.0.1:5000\/app:1@sha256:1+ has no valid signature from a trusted key \(keys tried: release.pub\): tag x.sig: signature does not verify/);
    // A tampered payload (bytes changed after signing) fails, even when it still names the digest.
    const s = sig('127.0.0.1:5000/app', D1);
    const tampered = { ...s, payload: Buffer.from(s.payload.toString().replace('"optional":null', '"optional":{}')) };
    assert.match(messageOf(() => checkSignatures(ref, D1, [tampered], keys)), /does not verify/);
    // One good signature among bad ones is enough.
    assert.equal(checkSignatures(ref, D1, [sig('127.0.0.1:5000/app', D2), s], keys).digest, D1);
  });
});

describe('policy', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trust-policy-'));
  const pair = generateSigningKeyPair('p');
  writeFileSync(path.join(dir, 'release.pub'), pair.publicPem);
  writeFileSync(path.join(dir, 'rsa.pub'), generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string);
  after(() => rmSync(dir, { recursive: true, force: true }));
  const parse = (text: string) => parsePolicy(text, 'policy.json', dir, (p) => readFileSync(p));

  it('syntax errors name the line and column', () => {
    const cases: [string, RegExp][] = [
      ['{\n  "default": [{"type": "reject"}],\n  "transports": {\n    "docker": {\n      "a": [{"type": "reject"},]\n    }\n  }\n}', /policy.json: syntax error at line 5, column 32: unexpected "\]", expected a value/],
      ['{\n  "default": [{"type": "reject"}]\n  "transports": {}\n}', /line 3, column 3: unexpected "\\"", expected ',' or '}' after the value of "default"/],
      ['{\n  "default": [{"type": "reject"}],\n}', /line 3, column 1: unexpected "}", expected a "key" in an object \(a trailing comma before it\?\)/],
      ['{\n  "default": [', /line 2, column 15: unexpected end of the file/],
      ['{"default": "x\n"}', /line 1, column 13: unterminated string/],
      ['{"a": 1, "a": 2}', /duplicate key "a"/],
      ['', /line 1, column 1: unexpected end of the file/],
    ];
    for (const [text, re] of cases) assert.match(messageOf(() => parse(text)), re, JSON.stringify(text));
  });

  it('bad rules name their line', () => {
    assert.match(messageOf(() => parse('{\n "default": [\n  {"type": "signed"}\n ]\n}')), /policy.json \(line 3\): default\[0\]: unknown requirement type "signed"/);
    assert.match(messageOf(() => parse('{\n "default": [\n  {"type": "signedBy"}\n ]\n}')), /\(line 3\): default\[0\]: signedBy needs "keyPath"/);
    assert.match(messageOf(() => parse('{"default": [{"type": "signedBy", "keyPath": "missing.pub"}]}')), /cannot read key .*missing.pub: no such file/);
    assert.match(messageOf(() => parse('{"default": [{"type": "signedBy", "keyPath": "rsa.pub"}]}')), /rsa.pub is an RSA key/);
    assert.match(messageOf(() => parse('{"default": []}')), /default: expected a non-empty list/);
    assert.match(messageOf(() => parse('{"transports": {}}')), /"default" is required/);
    assert.match(messageOf(() => parse('{"default": [{"type": "reject"}], "transport": {}}')), /unknown key "transport"/);
    assert.match(messageOf(() => parse('{"default": [{"type": "reject"}], "transports": {"docker": {"http://x": [{"type": "reject"}]}}}')), /invalid scope "http:\/\/x"/);
    assert.match(messageOf(() => parse('[1]')), /expected a JSON object/);
  });

  it('matches the most specific scope', () => {
    const policy = parse(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            '127.0.0.1:5000': [{ type: 'insecureAcceptAnything' }],
            '127.0.0.1:5000/signed': [{ type: 'signedBy', keyPath: 'release.pub' }],
            '127.0.0.1:5000/signed:dev': [{ type: 'insecureAcceptAnything' }],
            '127.0.0.1:5000/team': [{ type: 'sigstoreSigned', keyPaths: ['release.pub'] }],
            '*.example.com': [{ type: 'insecureAcceptAnything' }],
            'docker.io/library/busybox': [{ type: 'reject' }],
          },
        },
      }),
    );
    const d = (r: string) => decide(policy, parseNormalizedNamed(r));
    assert.deepEqual(d('127.0.0.1:5000/other:1'), { kind: 'accept' });
    const signed = d('127.0.0.1:5000/signed:1');
    assert.equal(signed.kind, 'signed');
    assert.equal(signed.kind === 'signed' && signed.scope, '127.0.0.1:5000/signed');
    assert.equal(signed.kind === 'signed' && signed.keySets[0]![0]!.name, path.join(dir, 'release.pub'));
    assert.deepEqual(d('127.0.0.1:5000/signed:dev'), { kind: 'accept' });
    assert.equal(d('127.0.0.1:5000/team/app:1').kind, 'signed');
    assert.deepEqual(d('registry.example.com/x:1'), { kind: 'accept' });
    assert.deepEqual(d('busybox'), { kind: 'reject', scope: 'docker.io/library/busybox' });
    assert.deepEqual(d('quay.io/x/y'), { kind: 'reject', scope: 'default' });
    assert.deepEqual(candidateScopes(parseNormalizedNamed('a.b.c:5000/x/y:t')), ['a.b.c:5000/x/y:t', 'a.b.c:5000/x/y', 'a.b.c:5000/x', 'a.b.c:5000', '*.b.c', '*.c']);
  });

  it('the line-aware JSON parser reads what JSON.parse reads', () => {
    const text = '{"a": [1, -2.5e3, true, false, null, "x\\u0041\\n"], "b": {}}';
    assert.deepEqual(parseJsonWithLines(text).value, JSON.parse(text));
  });
});

describe('signatures in berth registry', () => {
  let server: Awaited<ReturnType<typeof RegistryServer.start>>;
  let root: string;
  let client: RegistryClient;
  const repo = 'sig/app';
  let subject: { mediaType: string; digest: string; size: number };
  before(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'trust-registry-'));
    server = await RegistryServer.start({ root, addr: '127.0.0.1:0' });
    const host = new URL(server.url).host;
    client = new RegistryClient({ host, auth: {} });
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    await client.upload(repo, () => Readable.from([config]), () => sha(config));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [] }));
    await client.putManifest(repo, '1', manifest, 'application/vnd.oci.image.manifest.v1+json');
    subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha(manifest), size: manifest.length };
  });
  after(async () => {
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('stores under the .sig tag and as a referrer; fetches both; verifies', async () => {
    const pair = generateSigningKeyPair('p');
    const key = loadPrivateKey(pair.privatePem, 'p', 'k');
    const host = new URL(server.url).host;
    const payload = buildPayload(`${host}/${repo}`, subject.digest);
    const signature = signPayload(key, payload);
    const pushed = await pushSignature(client, repo, subject, payload, signature);
    assert.equal(pushed.tag, signatureTag(subject.digest));
    assert.ok(pushed.referrer, 'berth registry has the referrers API');
    // Signing again adds no duplicate layer.
    await pushSignature(client, repo, subject, payload, signature);
    const sigManifest = JSON.parse((await client.getManifest(repo, pushed.tag)).body.toString());
    assert.equal(sigManifest.layers.length, 1);
    assert.equal(sigManifest.layers[0].mediaType, SIMPLESIGNING_MEDIA_TYPE);
    assert.equal(sigManifest.layers[0].annotations[SIGNATURE_ANNOTATION], signature);
    assert.deepEqual(await readAll(client.blob(repo, sigManifest.layers[0].digest)), payload);
    const referrer = JSON.parse((await client.getManifest(repo, pushed.referrer!)).body.toString());
    assert.equal(referrer.subject.digest, subject.digest);
    assert.equal(referrer.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    const found = await fetchSignatures(client, repo, subject.digest);
    assert.deepEqual(found.map((f) => f.source), [`tag ${pushed.tag}`]); // the referrer's layer is the same signature
    const v = checkSignatures(parseNormalizedNamed(`${host}/${repo}:1`), subject.digest, found, [{ name: 'k.pub', key: loadPublicKey(pair.publicPem, 'k.pub') }]);
    assert.equal(v.key, 'k.pub');
    assert.deepEqual(await fetchSignatures(client, repo, D1), []);
  });
});

describe('content trust in the CLI', async () => {
  const { contentTrustOn } = await import('../../src/cli/trust-env.js');
  const { trustedKeys } = await import('../../src/cli/trust.js');
  it('is on with BERTH_CONTENT_TRUST or DOCKER_CONTENT_TRUST', () => {
    assert.ok(contentTrustOn({ BERTH_CONTENT_TRUST: '1' }));
    assert.ok(contentTrustOn({ DOCKER_CONTENT_TRUST: 'true' }));
    assert.ok(!contentTrustOn({ DOCKER_CONTENT_TRUST: '0' }));
    assert.ok(!contentTrustOn({ BERTH_CONTENT_TRUST: '' }));
    assert.ok(!contentTrustOn({}));
  });
  it('finds trusted keys in BERTH_TRUST_KEYS or ~/.berth/trust', () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'trust-home-'));
    try {
      assert.match(messageOf(() => trustedKeys({ HOME: home })), /no trusted keys: put public keys \(NAME.pub\) in .*\.berth\/trust or name them in BERTH_TRUST_KEYS/);
      const dir = path.join(home, '.berth', 'trust');
      const pub = generateSigningKeyPair('p').publicPem;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'b.pub'), pub);
      writeFileSync(path.join(dir, 'a.pub'), pub);
      writeFileSync(path.join(dir, 'notes.txt'), 'x');
      assert.deepEqual(trustedKeys({ HOME: home }).map((k) => path.basename(k.name)), ['a.pub', 'b.pub']);
      assert.deepEqual(trustedKeys({ HOME: home, BERTH_TRUST_KEYS: `${dir}/b.pub` }).map((k) => path.basename(k.name)), ['b.pub']);
      assert.match(messageOf(() => trustedKeys({ HOME: home, BERTH_TRUST_KEYS: '/nonexistent/k.pub' })), /BERTH_TRUST_KEYS names \/nonexistent\/k.pub, which does not exist/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
