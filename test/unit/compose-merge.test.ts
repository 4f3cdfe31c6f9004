// Several -f files merged with the compose specification's rules (compose-go's override package).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadProject } from '../../src/compose/loader/index.js';
import type { Project } from '../../src/compose/types.js';

let dir: string;
const load = async (...docs: string[]): Promise<Project> => {
  const files = docs.map((d, i) => {
    const f = path.join(dir, `f${i}.yaml`);
    writeFileSync(f, d);
    return f;
  });
  return loadProject({ files, envFiles: [], profiles: [], env: {}, cwd: dir, projectName: 'p' });
};

describe('compose merge rules', () => {
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'berth-merge-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('mappings merge, scalars are replaced', async () => {
    const p = await load('services: {web: {image: a, user: u, healthcheck: {interval: 5s, retries: 3}}}', 'services: {web: {image: b, healthcheck: {retries: 5}}}');
    assert.equal(p.services.web!.image, 'b');
    assert.equal(p.services.web!.user, 'u');
    assert.deepEqual(p.services.web!.healthcheck, { interval: '5s', retries: 5 });
  });

  it('ports merge by host ip, published, target and protocol', async () => {
    const p = await load(
      'services: {web: {image: a, ports: ["8080:80", "9000:9000/udp", {target: 443, published: "8443"}]}}',
      'services: {web: {ports: ["8080:80", "9000:9000", {target: 443, published: "8443", host_ip: "127.0.0.1"}]}}',
    );
    assert.deepEqual(
      p.services.web!.ports!.map((x) => `${x.host_ip ?? ''}:${x.published}:${x.target}/${x.protocol}`),
      [':8080:80/tcp', ':9000:9000/udp', ':8443:443/tcp', ':9000:9000/tcp', '127.0.0.1:8443:443/tcp'],
    );
  });

  it('volumes merge by target, the later definition winning', async () => {
    const p = await load('services: {web: {image: a, volumes: ["./a:/data", "v1:/keep"]}}\nvolumes: {v1: {}, v2: {}}', 'services: {web: {volumes: ["v2:/data:ro"]}}');
    assert.deepEqual(p.services.web!.volumes, [
      { type: 'volume', source: 'v2', target: '/data', read_only: true, volume: {} },
      { type: 'volume', source: 'v1', target: '/keep', volume: {} },
    ]);
  });

  it('environment, labels, sysctls and extra_hosts merge by key, list or mapping alike', async () => {
    const p = await load(
      'services: {web: {image: a, environment: [A=1, B=2], labels: {x: "1", y: "2"}, sysctls: [net.a=1], extra_hosts: ["h1=1.1.1.1"]}}',
      'services: {web: {environment: {B: "3", C: "4"}, labels: [y=9], sysctls: {net.b: 2}, extra_hosts: {h2: 2.2.2.2}}}',
    );
    const web = p.services.web!;
    assert.deepEqual(web.environment, { A: '1', B: '3', C: '4' });
    assert.deepEqual(web.labels, { x: '1', y: '9' });
    assert.deepEqual(web.sysctls, { 'net.a': '1', 'net.b': '2' });
    assert.deepEqual(web.extra_hosts, { h1: ['1.1.1.1'], h2: ['2.2.2.2'] });
  });

  it('command, entrypoint and healthcheck.test are replaced, not appended', async () => {
    const p = await load(
      'services: {web: {image: a, command: [a, b], entrypoint: [x], healthcheck: {test: [CMD, a]}}}',
      'services: {web: {command: "c d", entrypoint: [y, z], healthcheck: {test: "true"}}}',
    );
    assert.deepEqual(p.services.web!.command, ['c', 'd']);
    assert.deepEqual(p.services.web!.entrypoint, ['y', 'z']);
    assert.deepEqual(p.services.web!.healthcheck!.test, ['CMD-SHELL', 'true']);
  });

  it('secrets and configs merge by target, depends_on and networks by name', async () => {
    const p = await load(
      'services: {web: {image: a, secrets: [s1], depends_on: [db], networks: [front]}, db: {image: d}}\nsecrets: {s1: {file: ./s}, s2: {file: ./s}}\nnetworks: {front: {}, back: {}}',
      'services: {web: {secrets: [{source: s2, target: /run/secrets/s1}], depends_on: {db: {condition: service_healthy}}, networks: {back: {aliases: [b]}}}}',
    );
    const web = p.services.web!;
    assert.deepEqual(web.secrets, [{ source: 's2', target: '/run/secrets/s1' }]);
    assert.deepEqual(web.depends_on, { db: { condition: 'service_healthy', required: true } });
    assert.deepEqual(web.networks, { front: null, back: { aliases: ['b'] } });
  });

  it('!reset removes and !override replaces what earlier files set', async () => {
    const p = await load(
      'services: {web: {image: a, ports: ["80:80"], environment: {A: "1", B: "2"}, command: [x]}}',
      'services:\n  web:\n    ports: !reset []\n    environment: !override\n      C: "3"\n    command: !reset null\n',
    );
    const web = p.services.web!;
    assert.equal(web.ports, undefined);
    assert.deepEqual(web.environment, { C: '3' });
    assert.equal(web.command, undefined);
  });

  it('logging options merge only for the same driver', async () => {
    const same = await load('services: {web: {image: a, logging: {driver: json-file, options: {a: "1"}}}}', 'services: {web: {logging: {options: {b: "2"}}}}');
    assert.deepEqual(same.services.web!.logging, { driver: 'json-file', options: { a: '1', b: '2' } });
    const other = await load('services: {web: {image: a, logging: {driver: json-file, options: {a: "1"}}}}', 'services: {web: {logging: {driver: syslog}}}');
    assert.deepEqual(other.services.web!.logging, { driver: 'syslog' });
  });
});
