import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { renderJSONMessages } from '../../src/client/jsonmessage.js';
import { StreamError } from '../../src/client/errors.js';
import { buildQuery } from '../../src/client/engine.js';
import { parseHost, resolveHost, DEFAULT_HOST } from '../../src/client/host.js';

async function render(lines: string[]): Promise<string> {
  const out = new PassThrough();
  await renderJSONMessages(Readable.from([lines.join('\r\n') + '\r\n']), out);
  out.end();
  let text = '';
  for await (const c of out) text += (c as Buffer).toString();
  return text;
}

test('load prints the stream text', async () => {
  assert.equal(await render(['{"stream":"Loaded image: busybox:latest\\n"}']), 'Loaded image: busybox:latest\n');
});

test('status lines carry their id; progress bars are skipped off a terminal', async () => {
  const text = await render([
    '{"status":"Loading layer","progressDetail":{"current":1,"total":2},"progress":"[==>  ]","id":"abc"}',
    '{"status":"sha256:123"}',
    '{"status":"Done","id":"abc"}',
  ]);
  assert.equal(text, 'sha256:123\nabc: Done\n');
});

test('an error message in the stream rejects with its text', async () => {
  await assert.rejects(render(['{"errorDetail":{"message":"bad tar"},"error":"bad tar"}']), (err: unknown) => {
    assert.ok(err instanceof StreamError);
    assert.equal(err.message, 'bad tar');
    return true;
  });
});

test('query strings: booleans as 1/0, arrays repeated, undefined dropped', () => {
  assert.equal(buildQuery({ stream: true, stdin: false, x: undefined, names: ['a', 'b:c'] }), '?stream=1&stdin=0&names=a&names=b%3Ac');
  assert.equal(buildQuery({}), '');
});

test('host selection: flag, then BERTH_HOST, then the default', () => {
  assert.deepEqual(resolveHost(undefined, {}), { url: DEFAULT_HOST, socketPath: '/run/berth/berth.sock', isDefault: true });
  assert.equal(resolveHost(undefined, { BERTH_HOST: 'unix:///tmp/b.sock' }).socketPath, '/tmp/b.sock');
  assert.equal(resolveHost('unix:///tmp/x.sock', { BERTH_HOST: 'unix:///tmp/b.sock' }).isDefault, false);
  assert.throws(() => parseHost('tcp://1.2.3.4:2375'), /unix/);
});
