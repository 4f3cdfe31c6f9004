import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { Demuxer, demuxStream, frame, STDERR, STDOUT, SYSERR } from '../../src/lib/stdcopy.js';

async function collect(s: PassThrough): Promise<string> {
  s.end();
  let out = '';
  for await (const c of s) out += (c as Buffer).toString();
  return out;
}

test('frames are split into stdout and stderr', async () => {
  const src = Readable.from([Buffer.concat([frame(STDOUT, 'out1\n'), frame(STDERR, 'err\n'), frame(STDOUT, 'out2\n')])]);
  const out = new PassThrough();
  const err = new PassThrough();
  await demuxStream(src, out, err);
  assert.equal(await collect(out), 'out1\nout2\n');
  assert.equal(await collect(err), 'err\n');
});

test('headers and payloads split across chunks are reassembled', () => {
  const data = Buffer.concat([frame(STDOUT, 'hello'), frame(STDERR, 'world!')]);
  const frames: string[] = [];
  const d = new Demuxer((stream, payload) => frames.push(`${stream}:${payload.toString()}`));
  for (let i = 0; i < data.length; i += 3) d.push(data.subarray(i, i + 3));
  assert.deepEqual(frames, ['1:hello', '2:world!']);
  assert.equal(d.leftover, 0);
});

test('an empty frame is allowed', () => {
  const frames: number[] = [];
  new Demuxer((_s, p) => frames.push(p.length)).push(frame(STDOUT, ''));
  assert.deepEqual(frames, [0]);
});

test('a system-error frame rejects', async () => {
  const src = Readable.from([frame(SYSERR, 'boom')]);
  await assert.rejects(demuxStream(src, new PassThrough(), new PassThrough()), /boom/);
});
