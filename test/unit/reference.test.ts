import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  familiarName,
  familiarString,
  isFullImageId,
  isImageIdLike,
  matchesReferencePattern,
  normalizedString,
  parseImageReference,
  parseNormalizedNamed,
  parseReference,
  pathMatch,
  tagNameOnly,
  withDigest,
  withTag,
} from '../../src/image-spec/reference.js';
import { InvalidParameter } from '../../src/lib/errors.js';

const HEX = 'a'.repeat(64);
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

function rejects(s: string, message: string): void {
  assert.throws(
    () => parseNormalizedNamed(s),
    (e: unknown) => e instanceof InvalidParameter && e.message === message,
    `${s} → ${message}`,
  );
}

test('official images normalise to docker.io/library', () => {
  assert.deepEqual(parseNormalizedNamed('busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(parseImageReference('busybox'), { domain: 'docker.io', path: 'library/busybox', tag: 'latest' });
  assert.equal(normalizedString(parseImageReference('busybox')), 'docker.io/library/busybox:latest');
  assert.equal(familiarString(parseImageReference('busybox')), 'busybox:latest');
  assert.equal(familiarName(parseImageReference('docker.io/library/busybox:1.36')), 'busybox');
});

test('user repositories and registries', () => {
  assert.deepEqual(parseNormalizedNamed('user/app'), { domain: 'docker.io', path: 'user/app' });
  assert.deepEqual(parseNormalizedNamed('localhost:5000/x:1'), { domain: 'localhost:5000', path: 'x', tag: '1' });
  assert.deepEqual(parseNormalizedNamed('localhost/x'), { domain: 'localhost', path: 'x' });
  assert.deepEqual(parseNormalizedNamed('quay.io/coreos/etcd:v3'), { domain: 'quay.io', path: 'coreos/etcd', tag: 'v3' });
  assert.deepEqual(parseNormalizedNamed('registry:5000/a/b/c'), { domain: 'registry:5000', path: 'a/b/c' });
  assert.deepEqual(parseNormalizedNamed('[::1]:5000/x'), { domain: '[::1]:5000', path: 'x' });
  // a first component without "." or ":" is part of the path
  assert.deepEqual(parseNormalizedNamed('foo/bar/baz'), { domain: 'docker.io', path: 'foo/bar/baz' });
  assert.equal(familiarString(parseImageReference('localhost:5000/x')), 'localhost:5000/x:latest');
  assert.equal(familiarString(parseImageReference('user/app:v2')), 'user/app:v2');
  // library/ is only dropped for single-component names
  assert.equal(familiarName(parseNormalizedNamed('docker.io/library/a/b')), 'library/a/b');
});

test('index.docker.io is the legacy name of docker.io', () => {
  assert.deepEqual(parseNormalizedNamed('index.docker.io/busybox'), { domain: 'docker.io', path: 'library/busybox' });
  assert.deepEqual(parseNormalizedNamed('index.docker.io/user/app:1'), { domain: 'docker.io', path: 'user/app', tag: '1' });
});

test('digests and tag+digest', () => {
  const d = parseNormalizedNamed(`docker.io/library/busybox@${DIGEST}`);
  assert.deepEqual(d, { domain: 'docker.io', path: 'library/busybox', digest: DIGEST });
  assert.equal(familiarString(d), `busybox@${DIGEST}`);
  assert.deepEqual(tagNameOnly(d), d, 'a digest reference gets no default tag');
  const both = parseImageReference(`busybox:1.36@${DIGEST}`);
  assert.deepEqual(both, { domain: 'docker.io', path: 'library/busybox', tag: '1.36', digest: DIGEST });
  assert.equal(normalizedString(both), `docker.io/library/busybox:1.36@${DIGEST}`);
});

test('tags follow [\\w][\\w.-]{0,127}', () => {
  assert.equal(parseNormalizedNamed('a:V1.0_rc-1').tag, 'V1.0_rc-1');
  assert.equal(parseNormalizedNamed(`a:${'t'.repeat(128)}`).tag?.length, 128);
  rejects(`a:${'t'.repeat(129)}`, 'invalid reference format');
  rejects('a:.bad', 'invalid reference format');
  rejects('a:-bad', 'invalid reference format');
  rejects('a:', 'invalid reference format');
});

test('malformed names are rejected with Docker wording', () => {
  rejects('Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase');
  rejects('user/App:1', 'invalid reference format: repository name (user/App) must be lowercase');
  rejects(HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`);
  rejects('', 'invalid reference format');
  rejects('a//b', 'invalid reference format');
  rejects('-abc', 'invalid reference format');
  rejects('abc-', 'invalid reference format');
  rejects('a..b', 'invalid reference format');
  rejects('a b', 'invalid reference format');
  rejects('a___b', 'invalid reference format');
  rejects('busybox@sha256:abc', 'invalid reference format');
  rejects(`a/${'b'.repeat(255)}`, 'repository name must not be more than 255 characters');
  // separators allowed between alphanumerics
  assert.equal(parseNormalizedNamed('a__b.c--d_e').path, 'library/a__b.c--d_e');
});

test('digests are validated like go-digest', () => {
  rejects(`a@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format');
  rejects(`a@sha256:${'a'.repeat(63)}`, 'invalid checksum digest length');
  rejects(`a@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm');
  assert.equal(parseNormalizedNamed(`a@sha512:${'b'.repeat(128)}`).digest, `sha512:${'b'.repeat(128)}`);
});

test('an uppercase first component is a domain (splitDockerDomain)', () => {
  assert.deepEqual(parseNormalizedNamed('Foo/bar'), { domain: 'Foo', path: 'bar' });
});

test('strict Parse without normalisation', () => {
  assert.deepEqual(parseReference('busybox'), { domain: '', path: 'busybox' });
  assert.throws(() => parseReference('Busybox'), /^InvalidParameter: repository name must be lowercase$/);
  assert.throws(() => parseReference(''), /repository name must have at least one component/);
});

test('withTag / withDigest', () => {
  const r = parseNormalizedNamed(`busybox@${DIGEST}`);
  assert.deepEqual(withTag(r, 'v1'), { domain: 'docker.io', path: 'library/busybox', tag: 'v1' });
  assert.throws(() => withTag(r, 'bad tag'), /invalid tag format/);
  assert.equal(withDigest(parseNormalizedNamed('x:1'), DIGEST).digest, DIGEST);
  assert.throws(() => withDigest(r, 'sha256:zz'), InvalidParameter);
});

test('image ID detection', () => {
  assert.ok(isImageIdLike(HEX));
  assert.ok(isImageIdLike(`sha256:${HEX}`));
  assert.ok(isImageIdLike('207581b321f3'));
  assert.ok(!isImageIdLike('busybox'));
  assert.ok(!isImageIdLike('ABCDEF'));
  assert.ok(isFullImageId(HEX));
  assert.ok(!isFullImageId('207581b321f3'));
});

test('images --filter reference= uses path.Match on the familiar string and name', () => {
  const busy = parseImageReference('busybox:1.36');
  assert.ok(matchesReferencePattern(busy, 'busybox'));
  assert.ok(matchesReferencePattern(busy, 'busybox:1.36'));
  assert.ok(matchesReferencePattern(busy, 'busy*'));
  assert.ok(matchesReferencePattern(busy, 'busybox:1.*'));
  assert.ok(matchesReferencePattern(busy, '*:1.3?'));
  assert.ok(!matchesReferencePattern(busy, 'busybox:latest'));
  assert.ok(!matchesReferencePattern(busy, 'docker.io/library/busybox'));
  const user = parseImageReference('user/app:v1');
  assert.ok(matchesReferencePattern(user, 'user/*'));
  assert.ok(!matchesReferencePattern(user, '*'), '* does not cross /');
  assert.ok(matchesReferencePattern(user, '*/*'));
  const local = parseImageReference('localhost:5000/x/y:2');
  assert.ok(matchesReferencePattern(local, 'localhost:5000/x/*'));
});

test('Go path.Match semantics', () => {
  assert.ok(pathMatch('a[b-d]c', 'acc'));
  assert.ok(!pathMatch('a[^b-d]c', 'acc'));
  assert.ok(pathMatch('a[^b-d]c', 'axc'));
  assert.ok(pathMatch('a\\*b', 'a*b'));
  assert.ok(!pathMatch('a\\*b', 'axb'));
  assert.ok(!pathMatch('a?b', 'a/b'));
  assert.ok(!pathMatch('[', 'a'), 'bad pattern matches nothing');
  assert.ok(!pathMatch('a[]', 'a'));
  assert.ok(pathMatch('x.y', 'x.y'));
  assert.ok(!pathMatch('x.y', 'xzy'));
});
