// berth compose's listings and log lines as Docker Compose v2.29 prints them, and the one-off container
// `compose run` makes: pure functions, no daemon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { combinedStatus, imageIDs, psRow, renderImages, renderLs, renderPs, renderTop } from '../../src/cli/compose/format.js';
import { composeEvent, eventJSON, eventText } from '../../src/cli/compose/events.js';
import { splitRepoTag } from '../../src/cli/compose/images.js';
import { stacks } from '../../src/cli/compose/ls.js';
import { shellWords } from '../../src/cli/compose/run.js';
import { LineSplitter, logPrinter } from '../../src/compose/logs.js';
import { nameWithoutProject, type ServiceContainer } from '../../src/compose/ps.js';
import { oneOffCreateRequest, parseVolume, type OneOffOptions } from '../../src/compose/run.js';
import type { Project } from '../../src/compose/types.js';
import type { ContainerSummary } from '../../src/api/types.js';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const CREATED = NOW / 1000 - 3;

function container(over: Partial<ServiceContainer> = {}): ServiceContainer {
  return {
    ID: 'f'.repeat(64),
    Name: 'app-web-1',
    Names: ['/app-web-1'],
    Image: 'busybox:latest',
    Command: 'sh -c "while true; do echo tick; sleep 1; done"',
    Project: 'app',
    Service: 'web',
    Created: CREATED,
    State: 'running',
    Status: 'Up 3 seconds (healthy)',
    Health: 'healthy',
    ExitCode: 0,
    Labels: { 'com.docker.compose.service': 'web', 'com.docker.compose.project': 'app' },
    Mounts: [],
    LocalVolumes: 0,
    Networks: ['app_default'],
    Publishers: [{ URL: '127.0.0.1', TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }],
    ...over,
  };
}

test('ps table: NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS, command quoted and cut at 20', () => {
  const db = container({ Name: 'app-db-1', Service: 'db', Command: 'sleep 1000', Status: 'Up 3 seconds', Health: '', Publishers: [] });
  assert.equal(
    renderPs([db, container()], 'table', true, NOW),
    'NAME        IMAGE            COMMAND                   SERVICE   CREATED         STATUS                   PORTS\n' +
      'app-db-1    busybox:latest   "sleep 1000"              db        3 seconds ago   Up 3 seconds             \n' +
      'app-web-1   busybox:latest   "sh -c \\"while true; …"   web       3 seconds ago   Up 3 seconds (healthy)   127.0.0.1:8080->80/tcp\n',
  );
  // An empty project still prints the header.
  assert.equal(renderPs([], '', true, NOW), 'NAME      IMAGE     COMMAND   SERVICE   CREATED   STATUS    PORTS\n');
});

test('ps --format json: one object per line with Compose\'s fields in its (sorted) order', () => {
  const line = renderPs([container()], 'json', true, NOW);
  assert.ok(line.endsWith('}\n'));
  const obj = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(obj), [
    'Command', 'CreatedAt', 'ExitCode', 'Health', 'ID', 'Image', 'Labels', 'LocalVolumes', 'Mounts', 'Name', 'Names',
    'Networks', 'Ports', 'Project', 'Publishers', 'RunningFor', 'Service', 'Size', 'State', 'Status',
  ]);
  assert.equal(obj.ID, 'ffffffffffff');
  assert.equal(obj.Ports, '127.0.0.1:8080->80/tcp');
  assert.deepEqual(obj.Publishers, [{ URL: '127.0.0.1', TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }]);
  assert.equal(obj.Size, '0B');
  assert.equal(obj.LocalVolumes, '0');
  assert.equal(JSON.parse(renderPs([container()], 'json', false, NOW)).ID, 'f'.repeat(64));
});

test('ps templates: fields, table templates with headers, .Label', () => {
  assert.equal(renderPs([container()], '{{.Name}} {{.Health}} {{.Label "com.docker.compose.service"}}', true, NOW), 'app-web-1 healthy web\n');
  assert.equal(renderPs([container()], 'table {{.Name}}\t{{.State}}', true, NOW), 'NAME        STATE\napp-web-1   running\n');
  assert.equal(psRow(container({ Publishers: [{ URL: '', TargetPort: 80, PublishedPort: 0, Protocol: 'tcp' }] }), true, NOW).Ports, '80/tcp');
});

test('ls: states counted in alphabetical order; table min width 20; json array on one line', () => {
  assert.equal(combinedStatus(['running', 'exited', 'running']), 'exited(1), running(2)');
  const summary = (project: string, state: string, files: string): ContainerSummary =>
    ({ Labels: { 'com.docker.compose.project': project, 'com.docker.compose.project.config_files': files }, State: state }) as unknown as ContainerSummary;
  const list = stacks([summary('b', 'running', '/b/compose.yaml'), summary('a', 'exited', '/a/x.yml,/a/y.yml'), summary('a', 'running', '/a/x.yml')]);
  assert.deepEqual(list, [
    { Name: 'a', Status: 'exited(1), running(1)', ConfigFiles: '/a/x.yml,/a/y.yml' },
    { Name: 'b', Status: 'running(1)', ConfigFiles: '/b/compose.yaml' },
  ]);
  assert.equal(
    renderLs(list, 'table'),
    'NAME                STATUS                  CONFIG FILES\n' +
      'a                   exited(1), running(1)   /a/x.yml,/a/y.yml\n' +
      'b                   running(1)              /b/compose.yaml\n',
  );
  assert.equal(renderLs(list.slice(1), 'json'), '[{"Name":"b","Status":"running(1)","ConfigFiles":"/b/compose.yaml"}]\n');
  assert.equal(renderLs([], 'json'), '[]\n');
  assert.throws(() => renderLs(list, 'yaml'), /format value "yaml" could not be parsed/);
});

test('images: sorted by container, <none> for untagged, IDs once with -q', () => {
  const id = 'sha256:' + 'a'.repeat(64);
  const imgs = [
    { ID: id, ContainerName: 'app-web-1', Repository: 'busybox', Tag: 'latest', Size: 4_260_000 },
    { ID: id, ContainerName: 'app-db-1', Repository: '', Tag: '', Size: 4_260_000 },
  ];
  assert.equal(
    renderImages(imgs, 'table'),
    'CONTAINER           REPOSITORY          TAG                 IMAGE ID            SIZE\n' +
      'app-db-1            <none>              <none>              aaaaaaaaaaaa        4.26MB\n' +
      'app-web-1           busybox             latest              aaaaaaaaaaaa        4.26MB\n',
  );
  assert.equal(imageIDs(imgs), 'a'.repeat(64) + '\n');
  assert.deepEqual(splitRepoTag('localhost:5000/app:1.0'), ['localhost:5000/app', '1.0']);
  assert.deepEqual(splitRepoTag('localhost:5000/app'), ['localhost:5000/app', '']);
});

test('top: per container its name, then its processes', () => {
  const out = renderTop([
    { Name: 'app-web-1', Titles: ['UID', 'PID', 'CMD'], Processes: [['root', '4242', 'sleep 1000']] },
    { Name: 'app-db-1', Titles: ['UID', 'PID', 'CMD'], Processes: [['root', '7', 'sh']] },
  ]);
  assert.equal(
    out,
    'app-db-1\nUID    PID   CMD\nroot   7     sh   \n\n' + 'app-web-1\nUID    PID    CMD\nroot   4242   sleep 1000   \n\n',
  );
});

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += String(c)));
  return { stream, text: () => text };
}

test('log prefixes: padded to the longest name registered, " | " after; colors in Compose\'s order', () => {
  const out = sink();
  const p = logPrinter({ stdout: out.stream, stderr: out.stream, color: false, prefix: true });
  p.register('web-1');
  p.register('db-1');
  p.log('db-1', 'ready');
  p.log('web-1', 'listening');
  p.status('web-1', 'exited with code 0');
  assert.equal(out.text(), 'db-1   | ready\nweb-1  | listening\nweb-1 exited with code 0\n');

  const colored = sink();
  const c = logPrinter({ stdout: colored.stream, stderr: colored.stream, color: true, prefix: true });
  c.register('web-1');
  c.register('db-1');
  c.log('web-1', 'a');
  c.log('db-1', 'b');
  assert.equal(colored.text(), '\x1b[36mweb-1  | \x1b[0ma\n\x1b[33mdb-1   | \x1b[0mb\n');

  const bare = sink();
  logPrinter({ stdout: bare.stream, stderr: bare.stream, color: true, prefix: false }).log('web-1', 'plain');
  assert.equal(bare.text(), 'plain\n');
});

test('log lines: split on newlines across chunks, a last partial line flushed', () => {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  s.push(Buffer.from('one\ntw'));
  s.push(Buffer.from('o\nthree'));
  s.end();
  assert.deepEqual(lines, ['one', 'two', 'three']);
});

test('container names without the project', () => {
  const labels = { 'com.docker.compose.project': 'app', 'com.docker.compose.service': 'web', 'com.docker.compose.container-number': '2' };
  assert.equal(nameWithoutProject({ Id: 'x', Names: ['/app-web-2'], Labels: labels }), 'web-2');
  assert.equal(nameWithoutProject({ Id: 'x', Names: ['/my-web'], Labels: labels }), 'my-web');
});

test('events: compose labels left out of the attributes, one-offs and other services skipped', () => {
  const line =
    '{"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"com.docker.compose.service":"web","image":"busybox","name":"app-web-1"}},' +
    '"time":1714564800,"timeNano":1714564800123456789}';
  const e = composeEvent(line, []);
  assert.ok(e);
  assert.deepEqual(e.attributes, { image: 'busybox', name: 'app-web-1' });
  assert.equal(e.timeNano, 1714564800123456789n);
  assert.match(eventText(e), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.123456 container start abc \(image=busybox, name=app-web-1\)\n\n$/);
  const json = JSON.parse(eventJSON(e)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['action', 'attributes', 'id', 'service', 'time', 'type']);
  assert.equal(json.service, 'web');
  assert.equal(composeEvent(line, ['db']), undefined);
  assert.equal(composeEvent(line.replace('"image"', '"com.docker.compose.oneoff":"True","image"'), []), undefined);
});

const PROJECT: Project = {
  name: 'app',
  workingDir: '/srv/app',
  composeFiles: ['/srv/app/compose.yaml'],
  environment: { FROM_SHELL: 'yes' },
  profiles: [],
  services: {
    web: {
      image: 'busybox',
      command: ['httpd', '-f'],
      environment: { A: '1' },
      ports: [{ target: 80, published: '8080', protocol: 'tcp' }],
      networks: { default: { aliases: ['www'] } },
      restart: 'always',
    },
  },
  disabledServices: {},
  networks: { default: { name: 'app_default' } },
  volumes: {},
  secrets: {},
  configs: {},
};

const RUN: OneOffOptions = {
  command: [],
  environment: [],
  labels: {},
  tty: false,
  interactive: true,
  autoRemove: true,
  servicePorts: false,
  volumes: [],
  useAliases: false,
  capAdd: [],
  capDrop: [],
};

test('run: the one-off container, named and labelled as Compose does, without the service ports', () => {
  const slug = '0123456789abcdef'.repeat(4);
  const { name, body } = oneOffCreateRequest(PROJECT, 'web', PROJECT.services.web!, RUN, slug);
  assert.equal(name, 'app-web-run-0123456789ab');
  assert.equal(body.Labels?.['com.docker.compose.oneoff'], 'True');
  assert.equal(body.Labels?.['com.docker.compose.slug'], slug);
  assert.deepEqual(body.Cmd, ['httpd', '-f']);
  assert.deepEqual(body.HostConfig?.PortBindings ?? {}, {});
  assert.equal(body.HostConfig?.AutoRemove, true);
  assert.deepEqual(body.HostConfig?.RestartPolicy, { Name: 'no' });
  assert.equal(body.OpenStdin, true);
  assert.deepEqual(body.NetworkingConfig?.EndpointsConfig?.app_default?.Aliases, [name]);
});

test('run: command, entrypoint, -e, -l, -u, -w, -p, --service-ports, --use-aliases, --name', () => {
  const { body } = oneOffCreateRequest(
    PROJECT,
    'web',
    PROJECT.services.web!,
    { ...RUN, entrypoint: ['sh', '-c'], environment: ['B=2', 'FROM_SHELL', 'UNSET'], labels: { who: 'me' }, user: 'nobody', workdir: '/tmp', name: 'mine', servicePorts: true, useAliases: true },
    'f'.repeat(64),
  );
  assert.deepEqual(body.Entrypoint, ['sh', '-c']);
  assert.deepEqual(body.Cmd, []);
  assert.deepEqual([...(body.Env ?? [])].sort(), ['A=1', 'B=2', 'FROM_SHELL=yes']);
  assert.equal(body.Labels?.who, 'me');
  assert.equal(body.User, 'nobody');
  assert.equal(body.WorkingDir, '/tmp');
  assert.deepEqual(body.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(body.NetworkingConfig?.EndpointsConfig?.app_default?.Aliases, ['mine', 'web', 'www']);
  const withCommand = oneOffCreateRequest(PROJECT, 'web', PROJECT.services.web!, { ...RUN, command: ['echo', 'hi'], entrypoint: ['sh'] }, 'f'.repeat(64));
  assert.deepEqual(withCommand.body.Cmd, ['echo', 'hi']);
});

test('run -v: binds relative to the project, named and anonymous volumes', () => {
  assert.deepEqual(parseVolume('./data:/data:ro', '/srv/app'), {
    type: 'bind',
    source: '/srv/app/data',
    target: '/data',
    read_only: true,
    bind: { create_host_path: true },
  });
  assert.deepEqual(parseVolume('cache:/cache', '/srv/app'), { type: 'volume', source: 'cache', target: '/cache', read_only: false });
  assert.deepEqual(parseVolume('/scratch', '/srv/app'), { type: 'volume', target: '/scratch' });
  assert.throws(() => parseVolume('a:b:c:d', '/'), /invalid volume specification/);
});

test('run --entrypoint is split as a shell would', () => {
  assert.deepEqual(shellWords(`sh -c "echo 'a b'"`), ['sh', '-c', "echo 'a b'"]);
  assert.deepEqual(shellWords(`a\\ b ''`), ['a b', '']);
  assert.throws(() => shellWords('"open'), /unterminated quote/);
});
