import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ellipsis, normalizeFormat, renderCells, tabwrite, truncateID } from '../../src/cli/format/table.js';
import { displayablePorts } from '../../src/cli/format/containers.js';
import { imageRows, familiarName } from '../../src/cli/format/images.js';
import type { ImageSummary } from '../../src/api/types.js';

test('tabwriter: minwidth 10, padding 3, last cell unpadded (docker images header)', () => {
  const text = renderCells(
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    [['busybox', 'latest', '207581b321f3', '20 minutes ago', '1.98MB']],
  );
  assert.equal(
    text,
    'REPOSITORY   TAG       IMAGE ID       CREATED          SIZE\n' +
      'busybox      latest    207581b321f3   20 minutes ago   1.98MB\n',
  );
});

test('tabwriter: column blocks end where a line has fewer cells', () => {
  assert.equal(tabwrite('a\tb\tc\nlonger-cell\n'), 'a         b         c\nlonger-cell\n');
  assert.equal(tabwrite('x\ty\nhello-world-long\tz\n'), 'x                  y\nhello-world-long   z\n');
});

test('tabwriter counts runes, not bytes', () => {
  assert.equal(tabwrite('é\tx\n'), 'é         x\n');
});

test('empty columns still take the minimum width (docker ps PORTS)', () => {
  const text = renderCells(['ID', 'PORTS', 'NAMES'], [['abc', '', 'web']]);
  assert.equal(text, 'ID        PORTS     NAMES\nabc                 web\n');
});

test('format strings: table prefix and escaped tabs', () => {
  assert.deepEqual(normalizeFormat('table {{.ID}}\\t{{.Names}}'), { table: true, body: '{{.ID}}\t{{.Names}}' });
  assert.deepEqual(normalizeFormat('{{.ID}}'), { table: false, body: '{{.ID}}' });
});

test('ellipsis and truncated IDs as docker prints them', () => {
  assert.equal(ellipsis('sh -c "sleep 1000; echo done"', 20), 'sh -c "sleep 1000; …');
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(truncateID('sha256:207581b321f3aabbccddeeff'), '207581b321f3');
  assert.equal(truncateID('98d29c0847802109dcb8'), '98d29c084780');
});

test('displayable ports group ranges and list mappings', () => {
  assert.equal(
    displayablePorts([
      { PrivatePort: 80, PublicPort: 8080, IP: '0.0.0.0', Type: 'tcp' },
      { PrivatePort: 5000, Type: 'tcp' },
      { PrivatePort: 5001, Type: 'tcp' },
      { PrivatePort: 53, PublicPort: 53, IP: '::', Type: 'udp' },
    ]),
    '[::]:53->53/udp, 5000-5001/tcp, 0.0.0.0:8080->80/tcp',
  );
  assert.equal(displayablePorts([]), '');
});

test('image rows: one per tag, <none> for dangling images', () => {
  const img: ImageSummary = {
    Id: 'sha256:207581b321f3aabbccddeeff00112233',
    ParentId: '',
    RepoTags: ['busybox:latest', 'docker.io/library/busybox:1.36', 'localhost:5000/x/y:v1'],
    RepoDigests: ['busybox@sha256:abcd'],
    Created: 0,
    Size: 1980000,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  };
  const rows = imageRows(img, { trunc: true, digests: true, now: 0 });
  assert.deepEqual(
    rows.map((r) => [r.Repository, r.Tag, r.Digest, r.ID]),
    [
      ['busybox', 'latest', 'sha256:abcd', '207581b321f3'],
      ['busybox', '1.36', 'sha256:abcd', '207581b321f3'],
      ['localhost:5000/x/y', 'v1', '<none>', '207581b321f3'],
    ],
  );
  const dangling = imageRows({ ...img, RepoTags: [], RepoDigests: [] }, { trunc: false, digests: false, now: 0 });
  assert.deepEqual(dangling.map((r) => [r.Repository, r.Tag, r.ID]), [['<none>', '<none>', img.Id]]);
  assert.equal(familiarName('docker.io/library/busybox'), 'busybox');
  assert.equal(familiarName('docker.io/me/app'), 'me/app');
});
