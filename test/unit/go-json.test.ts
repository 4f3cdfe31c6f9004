// Decoding request bodies and image configs as dockerd's Go structs do (api/go-json.ts, api/schemas.ts),
// the image-config boundary, signals, and what a client is told about an error that is not ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJson, GoJsonError } from '../../src/api/go-json.js';
import { buildArgsParam, containerCreateBody, imageConfig } from '../../src/api/schemas.js';
import type { ContainerCreateRequest } from '../../src/api/types.js';
import { parseImageConfig, parseImageIndex, parseImageManifest, parseSaveManifest } from '../../src/engine/images/config.js';
import { mergeConfig } from '../../src/engine/containers/config.js';
import { parseSignal } from '../../src/lib/signals.js';
import { InvalidParameter, NotFound } from '../../src/lib/errors.js';
import { clientMessage } from '../../src/daemon/http.js';

const create = (text: string) => decodeJson<ContainerCreateRequest>(text, containerCreateBody);

function goError(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof GoJsonError && e.message === message, message);
}

test('null leaves a field unset, and is the zero value inside a list or a map', () => {
  const body = create('{"Image":"busybox","Env":null,"Cmd":null,"Labels":{"a":null,"b":"2"},"Volumes":{"/v":null},"HostConfig":{"Binds":[null],"PortBindings":{"80/tcp":null},"Ulimits":[null]},"NetworkingConfig":{"EndpointsConfig":{"n":null}}}');
  assert.deepEqual(body, {
    Image: 'busybox',
    Labels: { a: '', b: '2' },
    Volumes: { '/v': {} },
    HostConfig: { Binds: [''], PortBindings: { '80/tcp': [] }, Ulimits: [{}] },
    NetworkingConfig: { EndpointsConfig: { n: {} } },
  });
  assert.deepEqual(create('null'), {});
  // A pointer's null is kept where it means something: a build arg taken from the environment.
  assert.deepEqual(decodeJson('{"A":null,"B":"1"}', buildArgsParam), { A: null, B: '1' });
});

test('field names match in any case, unknown fields pass through, strslice takes a string', () => {
  const body = create('{"image":"busybox","CMD":"echo hi","hostconfig":{"memory":6291456},"Extra":{"x":1}}');
  assert.deepEqual(body, { Image: 'busybox', Cmd: ['echo hi'], HostConfig: { Memory: 6291456 }, Extra: { x: 1 } } as never);
  // "__proto__" is data, not a prototype.
  const labels = create('{"Labels":{"__proto__":"x"}}').Labels!;
  assert.equal(Object.getPrototypeOf(labels), Object.prototype);
  assert.equal(labels['__proto__' as keyof typeof labels], 'x');
});

test('integers are checked on their literal text, as strconv does', () => {
  assert.equal(create('{"HostConfig":{"Memory":9223372036854775807}}').HostConfig!.Memory, 2 ** 63);
  goError(() => create('{"HostConfig":{"Memory":1e3}}'), 'json: cannot unmarshal number 1e3 into Go struct field HostConfig.HostConfig.Memory of type int64');
  goError(() => create('{"HostConfig":{"BlkioWeight":-1}}'), 'json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16');
  goError(() => create('{"HostConfig":{"ConsoleSize":[1,"2"]}}'), 'json: cannot unmarshal string into Go struct field HostConfig.HostConfig.ConsoleSize of type uint');
  goError(() => create('{"StopTimeout":"x"}'), 'json: cannot unmarshal string into Go struct field ContainerConfigWrapper.StopTimeout of type int');
  goError(() => create('"x"'), 'json: cannot unmarshal string into Go value of type runconfig.ContainerConfigWrapper');
});

test('syntax errors are worded as Go words them', () => {
  goError(() => create('{"Image":'), 'unexpected EOF');
  goError(() => create('{"Image" "x"}'), `invalid character '"' after object key`);
  goError(() => create('{"Image":"x",}'), `invalid character '}' looking for beginning of object key string`);
  goError(() => create('{"Env":["a" "b"]}'), `invalid character '"' after array element`);
  goError(() => create('{"Tty":tru}'), `invalid character '}' in literal true (expecting 'e')`);
  goError(() => create('{} x'), `invalid character 'x' after top-level value`);
});

test('an image config with every nullable field null becomes one with none, and a container runs from it', () => {
  const text = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: null,
    author: null,
    config: { Env: null, Cmd: null, Entrypoint: null, Volumes: null, OnBuild: null, Labels: null, ExposedPorts: null, Healthcheck: null, WorkingDir: null, User: null, Shell: null },
    container_config: null,
    history: null,
    rootfs: { type: 'layers', diff_ids: null },
  });
  const cfg = parseImageConfig(text, 'sha256:x');
  assert.deepEqual(cfg, { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } });
  const merged = mergeConfig({ Image: 'x', Cmd: ['sh'], Env: ['A=1'] }, cfg.config!, 'abc');
  assert.deepEqual([merged.Env, merged.Cmd, merged.Entrypoint, merged.Volumes, merged.Labels], [['A=1'], ['sh'], null, null, {}]);
  assert.throws(() => parseImageConfig('{"config":{"Env":"A=1"}}', 'sha256:y'), (e: unknown) => e instanceof InvalidParameter && e.message === 'invalid image config sha256:y: json: cannot unmarshal string into Go struct field Config.config.Env of type []string');
  assert.deepEqual(decodeJson('{"os.version":"10","os.features":null}', imageConfig), { 'os.version': '10' });
});

test('manifests, indexes and docker-save manifests accept what Go allows to be null', () => {
  assert.deepEqual(parseSaveManifest('[{"Config":"c.json","RepoTags":null,"Layers":null,"Parent":null}]'), [{ Config: 'c.json', RepoTags: [], Layers: [] }]);
  const m = parseImageManifest('{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:a","size":1,"annotations":null,"urls":null},"layers":null,"annotations":null,"subject":null}');
  assert.deepEqual(m, { schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:a', size: 1 }, layers: [] });
  assert.deepEqual(parseImageIndex('{"schemaVersion":2,"manifests":null}').manifests, []);
  assert.deepEqual(parseImageIndex('{"manifests":[{"digest":"sha256:b","platform":null}]}').manifests, [{ digest: 'sha256:b' }]);
  assert.throws(() => parseImageManifest('{"layers":{}}', 'manifest of x'), (e: unknown) => e instanceof InvalidParameter && e.message === 'invalid manifest of x: json: cannot unmarshal object into Go struct field Manifest.layers of type []v1.Descriptor');
});

test('signals: names with or without SIG in any case, numbers 1-64, RTMIN+n', () => {
  assert.equal(parseSignal('SIGTERM'), 15);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('usr1'), 10);
  assert.equal(parseSignal('RTMIN+3'), 37);
  assert.equal(parseSignal('SIGRTMAX-1'), 63);
  assert.equal(parseSignal('64'), 64);
  for (const bad of ['SIGBOGUS', '0', '65', '-1', '', 'RTMIN+31']) {
    assert.throws(() => parseSignal(bad), (e: unknown) => e instanceof InvalidParameter && e.message === `Invalid signal: ${bad}`, bad);
  }
});

test('a client sees our errors as they are, and anything else as an internal error with the stack logged', () => {
  const logged: string[] = [];
  const logger = { debug: () => undefined, info: () => undefined, error: (m: string) => logged.push(m) };
  assert.equal(clientMessage(new NotFound('No such container: x'), 'GET /containers/x/json', logger), 'No such container: x');
  assert.deepEqual(logged, []);
  let bug: unknown;
  try {
    const env = null as unknown as string[];
    assert.fail(String([...env]));
  } catch (e) {
    bug = e;
  }
  const msg = clientMessage(bug, 'POST /containers/create', logger);
  assert.match(msg, /^internal error handling POST \/containers\/create: TypeError: .* \(see berthd log\)$/);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /internal error handling POST \/containers\/create: TypeError: [^\n]*\n\s+at /);
});
