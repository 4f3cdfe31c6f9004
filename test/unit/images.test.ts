// Pure parts of the image side: references, chain IDs, whiteouts, import changes, sizes/durations.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { familiarName, familiarString, matchesReferencePattern, normalizedString, parseImageReference, parseNormalizedNamed } from '../../src/image-spec/reference.js';
import { chainId, chainIds, whiteoutOf } from '../../src/engine/snapshots/layers.js';
import { applyChanges } from '../../src/engine/images/changes.js';
import { sha256 } from '../../src/image-spec/digest.js';
import { bytesSize, fromHumanSize, humanDuration, humanSize, parseDuration, ramInBytes } from '../../src/lib/units.js';

describe('references', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app:1.0', 'docker.io/user/app:1.0', 'user/app:1.0'],
    ['localhost:5000/x:1', 'localhost:5000/x:1', 'localhost:5000/x:1'],
    ['localhost/x', 'localhost/x:latest', 'localhost/x:latest'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['registry.example.com:443/a/b/c:v', 'registry.example.com:443/a/b/c:v', 'registry.example.com:443/a/b/c:v'],
    ['docker.io/library/busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
  ];
  for (const [input, normalized, familiar] of cases) {
    it(`normalises ${input}`, () => {
      const r = parseImageReference(input);
      assert.equal(normalizedString(r), normalized);
      assert.equal(familiarString(r), familiar);
    });
  }

  it('keeps digests and does not add latest to them', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    const r = parseImageReference(`busybox@${d}`);
    assert.equal(r.tag, undefined);
    assert.equal(r.digest, d);
    assert.equal(familiarString(r), `busybox@${d}`);
    assert.equal(familiarName(parseNormalizedNamed('docker.io/library/busybox')), 'busybox');
  });

  it('rejects what Docker rejects, with its messages', () => {
    assert.throws(() => parseNormalizedNamed('Busybox'), /invalid reference format: repository name \(library\/Busybox\) must be lowercase/);
    assert.throws(() => parseNormalizedNamed('bad name'), /^InvalidParameter: invalid reference format$|invalid reference format/);
    assert.throws(() => parseNormalizedNamed('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
    assert.throws(() => parseNormalizedNamed('busybox:'), /invalid reference format/);
    assert.throws(() => parseNormalizedNamed('busybox@sha256:abc'), /invalid reference format/);
  });

  it('matches reference filters like docker images --filter reference=', () => {
    const r = parseImageReference('busybox:latest');
    assert.ok(matchesReferencePattern(r, 'busy*'));
    assert.ok(matchesReferencePattern(r, 'busybox:*'));
    assert.ok(!matchesReferencePattern(r, 'alpine*'));
    assert.ok(!matchesReferencePattern(parseImageReference('a/b:1'), 'a*'), '* does not cross a slash');
    assert.ok(matchesReferencePattern(parseImageReference('my-app:latest'), 'my-app'), 'a "-" in the pattern is literal');
    assert.ok(matchesReferencePattern(parseImageReference('my-app:latest'), 'my-[a-b]pp'));
  });
});

describe('layers', () => {
  it('computes chain IDs as Docker does', () => {
    const d1 = sha256('one');
    const d2 = sha256('two');
    assert.equal(chainId(undefined, d1), d1);
    assert.equal(chainId(d1, d2), sha256(`${d1} ${d2}`));
    assert.deepEqual(chainIds([d1, d2]), [d1, sha256(`${d1} ${d2}`)]);
  });

  it('maps whiteout entries to overlayfs form', () => {
    assert.deepEqual(whiteoutOf('etc/.wh.passwd'), { kind: 'file', path: 'etc/passwd' });
    assert.deepEqual(whiteoutOf('./a/b/.wh..wh..opq'), { kind: 'opaque', dir: 'a/b' });
    assert.deepEqual(whiteoutOf('.wh.top'), { kind: 'file', path: 'top' });
    assert.equal(whiteoutOf('etc/passwd'), undefined);
  });
});

describe('import changes', () => {
  it('applies Dockerfile instructions like docker import -c', () => {
    const cfg = applyChanges({}, ['CMD ["sh"]', 'ENTRYPOINT echo hi', 'ENV A=1 B="two words"', 'ENV C 3', 'EXPOSE 80 53/udp', 'LABEL x=y', 'WORKDIR /app', 'USER app', 'VOLUME /data', 'STOPSIGNAL SIGINT']);
    assert.deepEqual(cfg.Cmd, ['sh']);
    assert.deepEqual(cfg.Entrypoint, ['/bin/sh', '-c', 'echo hi']);
    assert.deepEqual(cfg.Env, ['A=1', 'B=two words', 'C=3']);
    assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(cfg.Labels, { x: 'y' });
    assert.equal(cfg.WorkingDir, '/app');
    assert.equal(cfg.User, 'app');
    assert.deepEqual(cfg.Volumes, { '/data': {} });
    assert.equal(cfg.StopSignal, 'SIGINT');
  });

  it('refuses instructions docker import refuses', () => {
    assert.throws(() => applyChanges({}, ['RUN echo']), /run is not a valid change command/i);
  });
});

describe('units', () => {
  it('prints sizes like go-units', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1000), '1kB');
    assert.equal(humanSize(2129920), '2.13MB');
    assert.equal(bytesSize(2129920), '2.031MiB');
  });
  it('parses sizes and durations', () => {
    assert.equal(ramInBytes('512m'), 536870912);
    assert.equal(ramInBytes('1.5g'), 1610612736);
    assert.equal(fromHumanSize('10m'), 10_000_000);
    assert.throws(() => ramInBytes('lots'), /invalid size: 'lots'/);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('300ms'), 300);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('-1s'), -1000);
    assert.throws(() => parseDuration('10'), /time: missing unit in duration "10"/);
  });
  it('prints durations like go-units HumanDuration', () => {
    assert.equal(humanDuration(500), 'Less than a second');
    assert.equal(humanDuration(1000), '1 second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(60_000), 'About a minute');
    assert.equal(humanDuration(5 * 60_000), '5 minutes');
    assert.equal(humanDuration(3_600_000), 'About an hour');
    assert.equal(humanDuration(3 * 3_600_000), '3 hours');
    assert.equal(humanDuration(3 * 86_400_000), '3 days');
  });
});
