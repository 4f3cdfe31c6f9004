// The registry server's pure logic: names, digests, manifest validation, content negotiation, ranges,
// pagination, scopes and token ACLs.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { jwtVerify } from 'jose';
import { Htpasswd, parseAcl, parseScope, scopeString, TokenIssuer } from '../../src/registry/auth.js';
import { RegistryError } from '../../src/registry/errors.js';
import { acceptedTypes, accepts, MT, parseManifest, pickPlatformChild } from '../../src/registry/manifests.js';
import { checkDigest, checkName, isTag } from '../../src/registry/names.js';
import { paginate, parseContentRange, parseRange, splitAddr } from '../../src/registry/server.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof RegistryError ? e.code : 'not a RegistryError';
  }
  return undefined;
}

const D = 'sha256:' + 'a'.repeat(64);

describe('registry names', () => {
  it('accepts repository names as distribution does', () => {
    for (const ok of ['a', 'library/busybox', 'a/b/c', 'my-app', 'my--app', 'my_app', 'my__app', 'a.b', 'x'.repeat(255), 'registry.example.com/team/app', '0/1']) {
      assert.equal(code(() => checkName(ok)), undefined, ok);
    }
    for (const bad of ['', 'A', 'Team/app', 'a//b', '/a', 'a/', '-a', 'a-', 'a___b', 'a..b', '_a', 'a/_b', 'x'.repeat(256), 'host:5000/a', 'a b']) {
      assert.equal(code(() => checkName(bad)), 'NAME_INVALID', bad);
    }
  });

  it('tags and digests', () => {
    assert.ok(isTag('latest') && isTag('v1.2.3-rc_1') && isTag('_x') && isTag('a'.repeat(128)));
    assert.ok(!isTag('-x') && !isTag('.x') && !isTag('a'.repeat(129)) && !isTag('a/b') && !isTag(''));
    assert.equal(checkDigest(D), D);
    assert.equal(code(() => checkDigest('sha256:abc')), 'DIGEST_INVALID');
    assert.equal(code(() => checkDigest('sha256:' + 'A'.repeat(64))), 'DIGEST_INVALID');
    assert.match((() => {
      try {
        checkDigest('sha512:' + 'a'.repeat(128));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })(), /unsupported digest algorithm: sha512/);
  });
});

describe('registry manifests', () => {
  const desc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D, size: 2 };
  const image = (extra: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: desc, layers: [desc], ...extra }));

  it('takes the media type from Content-Type or the mediaType field', () => {
    assert.equal(parseManifest(image(), MT.ociManifest).mediaType, MT.ociManifest);
    assert.equal(parseManifest(image(), undefined).mediaType, MT.ociManifest);
    assert.equal(parseManifest(image(), 'application/octet-stream').mediaType, MT.ociManifest);
    const noField = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    assert.equal(parseManifest(noField, undefined).mediaType, MT.ociIndex);
    assert.equal(parseManifest(noField, MT.dockerList).mediaType, MT.dockerList);
    assert.equal(code(() => parseManifest(image(), MT.dockerManifest)), 'MANIFEST_INVALID');
  });

  it('refuses what is not a manifest', () => {
    for (const [body, ct] of [
      ['{', MT.ociManifest],
      ['[]', MT.ociManifest],
      [JSON.stringify({ schemaVersion: 1, name: 'x' }), 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
      [JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, layers: [] }), MT.ociManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, config: desc, layers: [{ digest: D }] }), MT.ociManifest],
      [JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: 'x' }), MT.ociIndex],
      [JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example+json', config: desc, layers: [] }), undefined],
    ] as const) {
      assert.equal(code(() => parseManifest(Buffer.from(body), ct)), 'MANIFEST_INVALID', body);
    }
  });

  it('lists the blobs, children and subject a manifest needs; skips foreign layers', () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: 'sha256:' + 'b'.repeat(64), size: 9, urls: ['https://example.com/l'] };
    const m = parseManifest(image({ layers: [desc, foreign], subject: { mediaType: MT.ociManifest, digest: D, size: 3 } }), MT.ociManifest);
    assert.deepEqual(m.blobs.map((b) => b.digest), [D, D]);
    assert.equal(m.subject?.digest, D);
    assert.equal(m.artifactType, desc.mediaType, 'artifactType defaults to the config media type');
    const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, artifactType: 'x/y', manifests: [{ ...desc, mediaType: MT.ociManifest }] })), MT.ociIndex);
    assert.ok(idx.isIndex);
    assert.deepEqual(idx.children.map((c) => c.digest), [D]);
    assert.equal(idx.artifactType, 'x/y');
  });

  it('negotiates content by Accept', () => {
    const t = acceptedTypes([`${MT.dockerManifest}; q=0.5, ${MT.ociManifest}`, 'text/plain']);
    assert.deepEqual([...t], [MT.dockerManifest, MT.ociManifest, 'text/plain']);
    assert.ok(accepts(t, MT.ociManifest));
    assert.ok(!accepts(t, MT.ociIndex));
    assert.ok(accepts(acceptedTypes(undefined), MT.ociIndex), 'no Accept takes anything');
    assert.ok(accepts(acceptedTypes('*/*'), MT.dockerList));
    const children = [
      { mediaType: MT.dockerManifest, digest: 'sha256:' + '1'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MT.dockerManifest, digest: 'sha256:' + '2'.repeat(64), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    ];
    const want = process.arch === 'arm64' ? '1' : '2';
    assert.equal(pickPlatformChild(children, acceptedTypes(MT.dockerManifest))?.digest, 'sha256:' + want.repeat(64));
    assert.equal(pickPlatformChild(children, acceptedTypes(MT.ociManifest)), undefined);
  });
});

describe('registry HTTP details', () => {
  it('parses blob Range headers', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'several ranges: the whole blob');
    assert.equal(parseRange('bytes=9-3', 100), undefined);
    assert.equal(parseRange(undefined, 100), undefined);
  });

  it('parses upload Content-Range headers', () => {
    assert.deepEqual(parseContentRange('0-99', 0, 'u'), { start: 0, length: 100 });
    assert.deepEqual(parseContentRange('bytes 100-199/*', 100, 'u'), { start: 100, length: 100 });
    assert.deepEqual(parseContentRange('bytes=5-5', 5, 'u'), { start: 5, length: 1 });
    assert.equal(code(() => parseContentRange('9-3', 0, 'u')), 'RANGE_INVALID');
    assert.equal(code(() => parseContentRange('x', 0, 'u')), 'RANGE_INVALID');
  });

  it('paginates with n and last', () => {
    const all = ['a', 'b', 'c', 'd', 'e'];
    assert.deepEqual(paginate(all, new URLSearchParams('')), { items: all });
    assert.deepEqual(paginate(all, new URLSearchParams('n=2')), { items: ['a', 'b'], next: { last: 'b', n: 2 } });
    assert.deepEqual(paginate(all, new URLSearchParams('n=2&last=b')), { items: ['c', 'd'], next: { last: 'd', n: 2 } });
    assert.deepEqual(paginate(all, new URLSearchParams('n=2&last=d')), { items: ['e'] });
    assert.deepEqual(paginate(all, new URLSearchParams('n=0')), { items: [] });
    assert.deepEqual(paginate(all, new URLSearchParams('last=zz')), { items: [] });
    assert.deepEqual(paginate(all, new URLSearchParams(''), 3), { items: ['a', 'b', 'c'], next: { last: 'c', n: 3 } });
    assert.equal(code(() => paginate(all, new URLSearchParams('n=-1'))), 'PAGINATION_NUMBER_INVALID');
  });

  it('splits listen addresses', () => {
    assert.deepEqual(splitAddr('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(splitAddr(':5000'), { host: '0.0.0.0', port: 5000 });
    assert.deepEqual(splitAddr('[::1]:0'), { host: '::1', port: 0 });
    assert.throws(() => splitAddr('nope'));
  });
});

describe('registry auth', () => {
  it('parses and prints scopes', () => {
    assert.deepEqual(parseScope('repository:team/app:pull,push'), { type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    assert.equal(parseScope('nonsense'), undefined);
    assert.equal(scopeString({ type: 'repository', name: 'a/b', actions: ['pull'] }), 'repository:a/b:pull');
  });

  it('issues tokens by the ACL, signed so the verifier accepts them', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-reg-unit-'));
    try {
      const ht = path.join(dir, 'htpasswd');
      await fs.writeFile(ht, `alice:${bcrypt.hashSync('pw', 4)}\nbob:${bcrypt.hashSync('pw2', 4)}\n`);
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const acl = parseAcl('alice * *\nbob team/* pull\nanonymous public/* pull\n');
      const issuer = new TokenIssuer({ issuer: 'iss', service: 'svc', key: privateKey, htpasswd: new Htpasswd(ht), acl, realm: 'r' });
      const access = async (creds: { user: string; password: string } | undefined, scope: string): Promise<unknown> => {
        const t = await issuer.issue(creds, 'svc', [scope]);
        const { payload, protectedHeader } = await jwtVerify(t.token, publicKey, { issuer: 'iss', audience: 'svc' });
        assert.equal(protectedHeader.alg, 'ES256');
        assert.match(String(protectedHeader.kid), /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/, 'a libtrust key ID');
        return payload.access;
      };
      assert.deepEqual(await access({ user: 'alice', password: 'pw' }, 'repository:x/y:pull,push'), [{ type: 'repository', name: 'x/y', actions: ['pull', 'push'] }]);
      assert.deepEqual(await access({ user: 'bob', password: 'pw2' }, 'repository:team/a:pull,push'), [{ type: 'repository', name: 'team/a', actions: ['pull'] }]);
      assert.deepEqual(await access({ user: 'bob', password: 'pw2' }, 'repository:other/a:pull'), []);
      assert.deepEqual(await access(undefined, 'repository:public/a:pull,push repository:team/a:pull'), [{ type: 'repository', name: 'public/a', actions: ['pull'] }]);
      await assert.rejects(issuer.issue({ user: 'bob', password: 'bad' }, 'svc', []), (e: unknown) => e instanceof RegistryError && e.code === 'UNAUTHORIZED');
      await assert.rejects(issuer.issue(undefined, 'other-service', []), (e: unknown) => e instanceof RegistryError && e.status === 400);
      assert.throws(() => parseAcl('alice onlytwo'));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
