// Signed images: `berth trust key generate|sign|verify` against `berth registry serve` and Debian's
// docker-registry (distribution 2.8), both on 127.0.0.1; openssl verifying berth's signatures on its own;
// content trust (BERTH_CONTENT_TRUST / DOCKER_CONTENT_TRUST) in pull, run, create, build FROM and push;
// berthd's --trust-policy refusing unsigned and wrongly signed images (another key, a signature over another
// digest, a payload naming another image) with nothing stored, accepting a signed one pinned by digest;
// and the bad inputs: wrong passphrase, wrong key types, a policy file with a syntax error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { busyboxTar, context, DAEMON, REPO, runCmd, TestDaemon, type RunResult } from './harness.js';
import { startDistribution, type Distribution } from '../support/distribution.js';
import { startRegistryServe, type RegistryServe } from '../support/registry-serve.js';
import { buildPayload, pushSignature, signatureTag, signPayload, SIGNATURE_ANNOTATION } from '../../src/distribution/cosign.js';
import { loadPrivateKey } from '../../src/distribution/signing-keys.js';
import { RegistryClient } from '../../src/distribution/registry.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');
const PASS = 'correct horse';

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}

describe('trust: signatures and content trust', () => {
  let d: TestDaemon;
  let dir: string;
  let serve: RegistryServe;
  let dist: Distribution;
  let B: string; // berth registry host
  let D: string; // distribution 2.8 host
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ BERTH_PASSWORD: PASS, HOME: dir, ...extra });
  const trustEnv = (extra: NodeJS.ProcessEnv = {}) => env({ BERTH_CONTENT_TRUST: '1', BERTH_TRUST_KEYS: path.join(dir, 'release.pub'), ...extra });
  const berth = (args: string[], e: NodeJS.ProcessEnv = env()) => d.berth(args, { env: e, cwd: dir });
  const digestOf = async (host: string, repo: string, tag: string) =>
    (await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } })).headers.get('docker-content-digest')!;

  before(async () => {
    dir = await fs.mkdtemp('/tmp/bt-trust-');
    serve = await startRegistryServe(path.join(dir, 'serve'));
    dist = await startDistribution();
    B = serve.host;
    D = `127.0.0.1:${dist.port}`;
    // The policy guards one repository of berth's registry; everything else is accepted.
    await fs.writeFile(
      path.join(dir, 'policy.json'),
      JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: { [`${B}/guarded`]: [{ type: 'signedBy', keyPath: 'release.pub' }] } } }, null, 2),
    );
    // Keys first: the policy names release.pub, which berthd reads at start.
    for (const name of ['release', 'other']) ok(await runCmd([process.execPath, CLI, 'trust', 'key', 'generate', name], { env: env(), cwd: dir }), `key generate ${name}`);
    d = await TestDaemon.start(['--trust-policy', path.join(dir, 'policy.json')]);
    const tar = await busyboxTar();
    ok(await d.berth(['import', '-c', 'CMD ["sh"]', tar, 'one:1']), 'import one');
    // Distinct images (each its own digest: signatures are per digest) sharing busybox's one layer.
    for (const name of ['two', 'three', 'four']) ok(await d.berth(['import', '-c', 'CMD ["sh"]', '-c', `ENV IMAGE=${name}`, tar, `${name}:1`]), `import ${name}`);
    const pushes: [string, string][] = [
      ['one:1', `${B}/app:1`],
      ['one:1', `${B}/unsigned:1`],
      ['one:1', `${D}/app:1`],
      ['one:1', `${B}/guarded:signed`],
      ['three:1', `${B}/guarded:unsigned`],
      ['four:1', `${B}/guarded:wrongkey`],
      ['two:1', `${B}/guarded:otherdigest`],
    ];
    for (const [src, dst] of pushes) {
      ok(await d.berth(['tag', src, dst]), `tag ${dst}`);
      ok(await d.berth(['push', '-q', dst]), `push ${dst}`);
    }
    // Only in the registries now (the images themselves stay, under one:1 … four:1).
    ok(await d.berth(['rmi', ...pushes.map(([, dst]) => dst)]), 'rmi the pushed tags');
  });

  after(async () => {
    await d?.cleanup();
    await serve?.stop();
    await dist?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('generates an encrypted key pair openssl reads, and refuses to overwrite it', async () => {
    const key = await fs.readFile(path.join(dir, 'release.key'), 'utf8');
    assert.match(key, /^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    assert.equal((await fs.stat(path.join(dir, 'release.key'))).mode & 0o777, 0o600);
    const pub = ok(await runCmd(['openssl', 'pkey', '-in', path.join(dir, 'release.key'), '-passin', `pass:${PASS}`, '-pubout']), 'openssl pkey');
    assert.equal(pub.stdout, await fs.readFile(path.join(dir, 'release.pub'), 'utf8'), 'the .pub is the public half of the .key');
    const wrong = await runCmd(['openssl', 'pkey', '-in', path.join(dir, 'release.key'), '-passin', 'pass:nope', '-noout']);
    assert.notEqual(wrong.code, 0);
    const again = await runCmd([process.execPath, CLI, 'trust', 'key', 'generate', 'release'], { env: env(), cwd: dir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /release.key already exists: choose another name, remove it, or use --force/);
  });

  it('signs in berth registry (tag + referrer) and distribution 2.8 (tag), verifies, and openssl agrees', async () => {
    const s1 = ok(await berth(['trust', 'sign', '--key', 'release.key', `${B}/app:1`]), 'sign B');
    const digest = await digestOf(B, 'app', '1');
    assert.match(s1.stdout, new RegExp(`^Signed ${B}/app@${digest}\nPushed signature to ${B}/app:${signatureTag(digest)} and as referrer sha256:[a-f0-9]{64}\n$`));
    const s2 = ok(await berth(['trust', 'sign', '--key', 'release.key', `${D}/app:1`]), 'sign D');
    assert.match(s2.stdout, /Pushed signature to .*\.sig\n$/, 'distribution 2.8 has no referrers API: the tag only');
    for (const host of [B, D]) {
      const v = ok(await berth(['trust', 'verify', '--key', 'release.pub', `${host}/app:1`]), `verify ${host}`);
      assert.match(v.stdout, new RegExp(`The payload names ${host}/app and the digest ${digest}`));
      const bad = await berth(['trust', 'verify', '--key', 'other.pub', `${host}/app:1`]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /has no valid signature from a trusted key \(keys tried: other.pub\): tag sha256-.*\.sig: signature does not verify with any trusted key/);
      // openssl, on its own: the payload blob and the DER signature from the .sig manifest.
      const sig = (await (await fetch(`http://${host}/v2/app/manifests/${signatureTag(digest)}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { layers: { digest: string; annotations: Record<string, string> }[] };
      const payload = Buffer.from(await (await fetch(`http://${host}/v2/app/blobs/${sig.layers[0]!.digest}`)).arrayBuffer());
      assert.equal(JSON.parse(payload.toString()).critical.image['docker-manifest-digest'], digest);
      await fs.writeFile(path.join(dir, 'payload.json'), payload);
      await fs.writeFile(path.join(dir, 'sig.der'), Buffer.from(sig.layers[0]!.annotations[SIGNATURE_ANNOTATION]!, 'base64'));
      const o = await runCmd(['openssl', 'dgst', '-sha256', '-verify', path.join(dir, 'release.pub'), '-signature', path.join(dir, 'sig.der'), path.join(dir, 'payload.json')]);
      assert.equal(o.stdout.trim(), 'Verified OK', o.stderr);
    }
    const referrers = (await (await fetch(`http://${B}/v2/app/referrers/${digest}`)).json()) as { manifests: { artifactType: string }[] };
    assert.deepEqual(referrers.manifests.map((m) => m.artifactType), ['application/vnd.dev.cosign.artifact.sig.v1+json']);
    const unsigned = await berth(['trust', 'verify', '--key', 'release.pub', `${B}/unsigned:1`]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, new RegExp(`${B}/unsigned:1@sha256:[a-f0-9]{64} is not signed: no signatures found \\(keys tried: release.pub\\)`));
  });

  it('berthd --trust-policy: refuses unsigned and wrongly signed images on pull and run, nothing stored; accepts a signed one pinned', async () => {
    // The wrong signatures, made by hand: another key; a payload over another digest; a payload naming another image.
    ok(await berth(['trust', 'sign', '--key', 'other.key', `${B}/guarded:wrongkey`]), 'sign with the other key');
    ok(await berth(['trust', 'sign', '--key', 'release.key', `${B}/guarded:signed`]), 'sign guarded');
    const key = loadPrivateKey(readFileSync(path.join(dir, 'release.key')), PASS, 'release.key');
    const client = new RegistryClient({ host: B, auth: {} });
    const one = await digestOf(B, 'guarded', 'signed');
    const two = await digestOf(B, 'guarded', 'otherdigest');
    const subject = { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: two, size: 0 };
    const overOne = buildPayload(`${B}/guarded`, one);
    await pushSignature(client, 'guarded', subject, overOne, signPayload(key, overOne));
    const otherImage = buildPayload(`${B}/app`, two);
    // The same digest: one .sig tag holds both bad signatures, and the refusal names both.
    await pushSignature(client, 'guarded', subject, otherImage, signPayload(key, otherImage));

    const cases: [string, RegExp][] = [
      ['unsigned', /is not signed: no signatures found \(keys tried: .*release.pub\)/],
      ['wrongkey', /has no valid signature from a trusted key \(keys tried: .*release.pub\): .*signature does not verify/],
      ['otherdigest', new RegExp(`signed by .*release.pub but for another digest \\(${one}\\).*signed by .*release.pub but for another image \\(${B}/app\\)`)],
    ];
    await Promise.all(cases.map(async ([tag, re]) => {
      const ref = `${B}/guarded:${tag}`;
      const pull = await d.berth(['pull', ref]);
      assert.equal(pull.code, 1, `pull ${tag}`);
      assert.match(pull.stderr, new RegExp(`${B}/guarded:${tag}@sha256:`));
      assert.match(pull.stderr, re, `pull ${tag}`);
      assert.equal((await d.berth(['image', 'inspect', ref])).code, 1, `nothing stored for ${tag}`);
      const run = await d.berth(['run', '--rm', ref, 'true']);
      assert.equal(run.code, 125, `run ${tag}`);
      assert.match(run.stderr, re, `run ${tag}`);
    }));
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '', 'no container was created');
    const pulled = ok(await d.berth(['pull', `${B}/guarded:signed`]), 'pull signed');
    assert.match(pulled.stdout, new RegExp(`Digest: ${one}`));
    const repoDigests = ok(await d.berth(['image', 'inspect', '-f', '{{json .RepoDigests}}', `${B}/guarded:signed`]), 'inspect').stdout;
    assert.ok(repoDigests.includes(`${B}/guarded@${one}`), repoDigests);
    assert.equal(ok(await d.berth(['run', '--rm', `${B}/guarded:signed`, 'echo', 'signed']), 'run signed').stdout, 'signed\n');
  });

  it('BERTH_CONTENT_TRUST / DOCKER_CONTENT_TRUST: pull, run, create, build FROM and push', async () => {
    ok(await berth(['trust', 'sign', '--key', 'release.key', `${B}/app:1`]), 'sign app');
    const digest = await digestOf(B, 'app', '1');
    // Refused: unsigned, by every verb; nothing stored, nothing created.
    const pull = await berth(['pull', `${B}/unsigned:1`], trustEnv());
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, new RegExp(`${B}/unsigned:1@sha256:[a-f0-9]{64} is not signed: no signatures found \\(keys tried: ${dir}/release.pub\\)`));
    assert.equal((await d.berth(['image', 'inspect', `${B}/unsigned:1`])).code, 1);
    const run = await berth(['run', '--rm', `${B}/unsigned:1`, 'true'], trustEnv());
    assert.equal(run.code, 125);
    assert.match(run.stderr, /is not signed/);
    const create = await berth(['create', `${B}/unsigned:1`], trustEnv({ BERTH_CONTENT_TRUST: '', DOCKER_CONTENT_TRUST: '1' }));
    assert.equal(create.code, 125);
    assert.match(create.stderr, /is not signed/);
    assert.equal((await d.berth(['ps', '-aq'])).stdout, '');
    const wrongKeys = await berth(['pull', `${B}/app:1`], trustEnv({ BERTH_TRUST_KEYS: path.join(dir, 'other.pub') }));
    assert.match(wrongKeys.stderr, /no valid signature from a trusted key \(keys tried: .*other.pub\)/);
    const noKeys = await berth(['pull', `${B}/app:1`], trustEnv({ BERTH_TRUST_KEYS: '' }));
    assert.equal(noKeys.code, 1);
    assert.match(noKeys.stderr, /content trust is on .* but there are no trusted keys: put public keys \(NAME.pub\) in .*\.berth\/trust or name them in BERTH_TRUST_KEYS/);

    // Accepted: signed; run uses the verified digest.
    ok(await berth(['pull', `${B}/app:1`], trustEnv()), 'pull signed');
    ok(await berth(['rmi', `${B}/app:1`]), 'rmi');
    const ran = ok(await berth(['run', '--name', 'trusted', `${B}/app:1`, 'echo', 'trusted'], trustEnv()), 'run signed');
    assert.equal(ran.stdout, 'trusted\n');
    assert.equal(ok(await d.berth(['inspect', '-f', '{{.Config.Image}}', 'trusted']), 'inspect').stdout.trim(), `${B}/app@${digest}`);
    ok(await d.berth(['rm', 'trusted']), 'rm');

    // Build: FROM an unsigned image is refused, FROM a signed one builds.
    const bad = await context({ Dockerfile: `FROM ${B}/unsigned:1\nRUN true\n` });
    const good = await context({ Dockerfile: `FROM ${B}/app:1\nRUN echo built > /built\n` });
    try {
      const b1 = await berth(['build', '-q', bad], trustEnv());
      assert.notEqual(b1.code, 0);
      assert.match(b1.stderr + b1.stdout, /unsigned:1@sha256:[a-f0-9]{64} is not signed/);
      ok(await berth(['build', '-q', '-t', 'built:1', good], trustEnv()), 'build FROM signed');
    } finally {
      await fs.rm(bad, { recursive: true, force: true });
      await fs.rm(good, { recursive: true, force: true });
    }

    // Push with trust on signs with BERTH_TRUST_KEY; without a key it refuses before pushing.
    ok(await d.berth(['tag', 'built:1', `${B}/pushed:1`]), 'tag');
    const noKey = await berth(['push', `${B}/pushed:1`], trustEnv());
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /set BERTH_TRUST_KEY to the private key to sign with/);
    assert.equal((await fetch(`http://${B}/v2/pushed/manifests/1`, { method: 'HEAD' })).status, 404, 'nothing pushed');
    const pushed = ok(await berth(['push', `${B}/pushed:1`], trustEnv({ BERTH_TRUST_KEY: path.join(dir, 'release.key') })), 'push signed');
    assert.match(pushed.stdout, /Signed .*\/pushed@sha256:[a-f0-9]{64} with .*release.key/);
    ok(await berth(['trust', 'verify', '--key', 'release.pub', `${B}/pushed:1`]), 'verify pushed');
  });

  it('bad inputs: wrong passphrase, wrong key types, missing files, a policy with a syntax error', async () => {
    const wrongPass = await berth(['trust', 'sign', '--key', 'release.key', `${B}/app:1`], env({ BERTH_PASSWORD: 'nope' }));
    assert.equal(wrongPass.code, 1);
    assert.equal(wrongPass.stderr, 'wrong passphrase for release.key (or the key file is damaged)\n');
    await fs.writeFile(path.join(dir, 'rsa.key'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await fs.writeFile(path.join(dir, 'ed.pub'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
    await fs.writeFile(path.join(dir, 'garbage.key'), 'not a key\n');
    const expect: [string[], RegExp][] = [
      [['trust', 'sign', '--key', 'rsa.key', `${B}/app:1`], /rsa.key is an RSA key: berth signs and verifies with ECDSA P-256 keys only/],
      [['trust', 'sign', '--key', 'garbage.key', `${B}/app:1`], /garbage.key is not a PEM private key/],
      [['trust', 'sign', '--key', 'release.pub', `${B}/app:1`], /release.pub is a public key: signing takes the private key/],
      [['trust', 'sign', '--key', 'missing.key', `${B}/app:1`], /cannot read key missing.key: no such file/],
      [['trust', 'sign', `${B}/app:1`], /--key is required/],
      [['trust', 'sign', '--key', 'release.key', 'Bad Ref'], /invalid reference format/],
      [['trust', 'sign', '--key', 'release.key', `${B}/nosuch:1`], /no such image in the registry/],
      [['trust', 'verify', '--key', 'ed.pub', `${B}/app:1`], /ed.pub is an ED25519 key/],
      [['trust', 'verify', '--key', 'release.key', `${B}/app:1`], /release.key is a private key: verification takes the public key/],
      [['trust', 'key', 'make', 'x'], /unknown command "make" for "berth trust key"/],
    ];
    await Promise.all(expect.map(async ([args, re]) => {
      const r = await berth(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /TypeError/);
    }));
    const noPass = await runCmd([process.execPath, CLI, 'trust', 'key', 'generate', 'nopass'], { env: { HOME: dir }, cwd: dir });
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /a passphrase is needed: set BERTH_PASSWORD/);
    await assert.rejects(fs.stat(path.join(dir, 'nopass.key')), 'no half-written key pair');

    // berthd refuses to start on a broken policy, naming the line.
    await fs.writeFile(path.join(dir, 'broken.json'), '{\n  "default": [{"type": "reject"}],\n  "transports": {\n    "docker": {"x": [{"type": "reject"}],}\n  }\n}\n');
    await fs.writeFile(path.join(dir, 'badrule.json'), '{\n  "default": [\n    {"type": "signedBy", "keyPath": "ed.pub"}\n  ]\n}\n');
    for (const [file, re] of [
      ['broken.json', /^berthd: trust policy .*broken.json: syntax error at line 4, column 42: unexpected "}", expected a "key" in an object \(a trailing comma before it\?\)\n$/],
      ['badrule.json', /^berthd: trust policy .*badrule.json \(line 3\): default\[0\]: .*ed.pub is an ED25519 key/],
    ] as const) {
      const r = await runCmd([process.execPath, DAEMON, '--root', path.join(dir, 'never'), '-H', `unix://${dir}/never.sock`, '--trust-policy', path.join(dir, file)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, re);
    }
    await assert.rejects(fs.stat(path.join(dir, 'never')), 'berthd stopped before touching its root');
  });
});
