// The build progress view (cli/build-progress.ts) on made-up vertex streams: BuildKit's plain lines and
// its redrawn terminal view, a clock the test moves.
/* eslint-disable no-control-regex -- terminal escape codes are what these tests look at */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { BuildProgressView, progressDisplay, renderBuildProgress } from '../../src/cli/build-progress.js';
import { StreamError } from '../../src/client/errors.js';
import type { JSONMessage } from '../../src/api/types.js';
import { BuildVertices } from '../../src/engine/builder/progress.js';
import { parseDockerfile, type Instruction } from '../../src/engine/builder/frontend/dockerfile.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function vertex(step: number, name: string, fields: Record<string, unknown> = {}): JSONMessage {
  return { id: 'berth.build.vertex', aux: { step, total: 4, stage: 0, name, ...fields } };
}
function log(step: number, data: string, ms: number): JSONMessage {
  return { id: 'berth.build.log', aux: { step, data, time: at(ms) } };
}

/** A view whose clock is berthd's (no offset) and moves only when told. */
function fixture(mode: 'plain' | 'tty', opts: { width?: number; height?: number } = {}) {
  let clock = T0;
  const view = new BuildProgressView({ mode, now: () => clock, ...opts });
  return { view, tick: (ms: number) => (clock = T0 + ms) };
}

test('plain: #N lines with the time since the step started, CACHED, DONE, the cache miss, the export', () => {
  const { view, tick } = fixture('plain');
  let out = '';
  const feed = (m: JSONMessage) => (out += view.handle(m));
  feed(vertex(1, '[1/3] FROM docker.io/library/busybox:latest', { started: at(0) }));
  feed(vertex(1, '[1/3] FROM docker.io/library/busybox:latest', { started: at(0), completed: at(10) }));
  feed(vertex(2, '[2/3] COPY a /a', { started: at(10) }));
  feed(vertex(2, '[2/3] COPY a /a', { started: at(10), completed: at(12), cached: true }));
  feed(vertex(3, '[3/3] RUN make', { started: at(20) }));
  feed(vertex(3, '[3/3] RUN make', { started: at(20), miss: 'the files it copies changed' }));
  feed(log(3, 'compiling\nlink', 143));
  feed(log(3, 'ing\n', 12_500));
  feed(log(3, 'tests passed\n', 12_500));
  tick(100);
  out += view.render();
  feed(vertex(3, '[3/3] RUN make', { started: at(20), completed: at(13_020) }));
  feed(vertex(4, 'exporting to image', { started: at(13_030) }));
  feed({ id: 'berth.build.status', aux: { step: 4, id: 'writing image sha256:abc', started: at(13_030), completed: at(13_230) } });
  feed({ id: 'berth.build.status', aux: { step: 4, id: 'naming to docker.io/library/app:1', started: at(13_230), completed: at(13_231) } });
  feed(vertex(4, 'exporting to image', { started: at(13_030), completed: at(13_240) }));
  tick(13_300);
  out += view.render(true) + view.summary();
  assert.equal(
    out,
    [
      '#1 [1/3] FROM docker.io/library/busybox:latest',
      '#1 DONE 0.0s',
      '',
      '#2 [2/3] COPY a /a',
      '#2 CACHED',
      '',
      '#3 [3/3] RUN make',
      '#3 berth: cache miss: the files it copies changed',
      '#3 0.123 compiling',
      '#3 0.123 linking', // a line's time is when it began
      '#3 12.48 tests passed',
      '#3 DONE 13.0s',
      '',
      '#4 exporting to image',
      '#4 writing image sha256:abc 0.2s done',
      '#4 naming to docker.io/library/app:1 done',
      '#4 DONE 0.2s',
      '',
    ].join('\n'),
  );
});

test('plain: concurrent steps print in blocks, each line under its own #N, "#N ..." where a block stops', () => {
  const { view, tick } = fixture('plain');
  let out = '';
  view.handle(vertex(2, '[a 2/2] RUN echo a', { started: at(0) }));
  view.handle(vertex(4, '[b 2/2] RUN echo b', { started: at(0) }));
  view.handle(log(2, 'a1\n', 100));
  view.handle(log(4, 'b1\n', 100));
  tick(100);
  out += view.render(); // one running step a turn: the first
  view.handle(log(4, 'b2\n', 150));
  tick(200);
  out += view.render(); // the current one has no news: the other's turn
  view.handle(log(2, 'a2\n', 250));
  view.handle(vertex(2, '[a 2/2] RUN echo a', { started: at(0), completed: at(300) }));
  view.handle(vertex(4, '[b 2/2] RUN echo b', { started: at(0), completed: at(300) }));
  tick(300);
  out += view.render(true);
  assert.equal(
    out,
    [
      '#2 [a 2/2] RUN echo a',
      '#2 0.100 a1',
      '#2 ...',
      '',
      '#4 [b 2/2] RUN echo b',
      '#4 0.100 b1',
      '#4 0.150 b2',
      '#4 DONE 0.3s',
      '',
      '#2 [a 2/2] RUN echo a',
      '#2 0.250 a2',
      '#2 DONE 0.3s',
      '',
    ].join('\n'),
  );
});

test('plain: a failed step, the steps cut short, the error block with the last output lines', () => {
  const { view } = fixture('plain');
  let out = '';
  view.handle(vertex(2, '[2/2] RUN make', { started: at(0) }));
  view.handle(vertex(5, '[b 2/2] RUN sleep 9', { started: at(0) }));
  for (let i = 1; i <= 12; i++) view.handle(log(2, `line ${i}\n`, i * 10));
  view.handle(log(2, 'no newline', 200));
  view.handle(vertex(2, '[2/2] RUN make', { started: at(0), completed: at(250), error: "The command '/bin/sh -c make' returned a non-zero code: 2" }));
  out += view.render(true) + view.summary();
  assert.match(out, /^#2 \[2\/2\] RUN make\n#2 0\.010 line 1\n/);
  assert.match(out, /#2 0\.200 no newline\n#2 ERROR: The command '\/bin\/sh -c make' returned a non-zero code: 2\n\n#5 \[b 2\/2\] RUN sleep 9\n#5 CANCELED\n/);
  const block = out.slice(out.indexOf('------'));
  assert.equal(block, ['------', ' > [2/2] RUN make:', ...[4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => `#2 0.${String(i * 10).padStart(3, '0')} line ${i}`), '#2 0.200 no newline', '------', ''].join('\n'));
});

test('a canceled step (its stage waited on the failed one) is no second error', () => {
  const { view } = fixture('plain');
  view.handle(vertex(3, '[b 1/2] FROM a', { started: at(0), completed: at(5), error: 'boom', canceled: true }));
  assert.equal(view.render(true) + view.summary(), '#3 [b 1/2] FROM a\n#3 CANCELED\n');
});

test('tty: a header, one line per step with its time, the last output lines of running steps, redrawn in place', () => {
  const { view, tick } = fixture('tty', { width: 60, height: 30 });
  view.handle(vertex(1, '[1/2] FROM docker.io/library/busybox:latest', { started: at(0), completed: at(10) }));
  view.handle(vertex(2, '[2/2] RUN a very long command line that will not fit in sixty columns', { started: at(10) }));
  for (let i = 1; i <= 8; i++) view.handle(log(2, `out ${i}\n`, 10 + i));
  view.handle(log(2, 'progress 10%\rprogress 50%', 30));
  tick(1210);
  const first = view.render();
  assert.equal(
    first,
    '\x1b[?25l' +
      [
        '[+] Building 1.2s (1/4)',
        ' => [1/2] FROM docker.io/library/busybox:latest        0.0s',
        ' => [2/2] RUN a very long command line that will not   1.2s',
        ' => => # out 4',
        ' => => # out 5',
        ' => => # out 6',
        ' => => # out 7',
        ' => => # out 8',
        ' => => # progress 50%',
      ]
        .map((l) => l + '\x1b[K\n')
        .join('') +
      '\x1b[J\x1b[?25h',
  );
  tick(1300);
  view.handle(vertex(2, '[2/2] RUN a very long command line that will not fit in sixty columns', { started: at(10), completed: at(1300), cached: true }));
  view.handle(vertex(3, 'exporting to image', { started: at(1300), completed: at(1400) }));
  view.handle({ stream: '[Warning] One or more build-args [X] were not consumed\n' });
  tick(1500);
  const last = view.render(true);
  assert.ok(last.startsWith('\x1b[9A\r'), 'back to the top of the last view: ' + JSON.stringify(last.slice(0, 10)));
  assert.match(last, /\[\+\] Building 1\.5s \(3\/4\)\x1b\[K\n/);
  assert.match(last, / => CACHED \[2\/2\] RUN a very long command line that wi {2}1\.3s\x1b\[K\n/);
  assert.match(last, / => exporting to image {33}0\.1s\x1b\[K\n/);
  assert.doesNotMatch(last, /out 8/, 'no output lines in the final view');
  assert.equal(view.summary(), '[Warning] One or more build-args [X] were not consumed\n', 'text of no step comes after the view');
});

test('tty: FINISHED when every step is done; colours when asked', () => {
  let clock = T0;
  const view = new BuildProgressView({ mode: 'tty', width: 50, color: true, now: () => clock });
  view.handle({ id: 'berth.build.vertex', aux: { step: 1, total: 2, stage: 0, name: '[1/1] FROM scratch', started: at(0), completed: at(0) } });
  view.handle({ id: 'berth.build.vertex', aux: { step: 2, total: 2, stage: '', name: 'exporting to image', started: at(0), completed: at(100) } });
  clock = T0 + 2000;
  const out = view.render(true);
  assert.match(out, /\[\+\] Building 2\.0s \(2\/2\) FINISHED/);
  assert.match(out, /\x1b\[34m => exporting to image +0\.1s\x1b\[0m/);
});

test('tty: a running view keeps to the terminal height, dropping the oldest finished steps', () => {
  const { view, tick } = fixture('tty', { width: 60, height: 6 });
  for (let i = 1; i <= 6; i++) view.handle(vertex(i, `[${i}/7] ENV N=${i}`, { started: at(i), completed: at(i) }));
  view.handle(vertex(7, '[7/7] RUN work', { started: at(10) }));
  view.handle(log(7, 'working\n', 20));
  tick(500);
  const lines = view.render().split('\x1b[K\n').slice(0, -1);
  assert.equal(lines.length, 5, JSON.stringify(lines));
  assert.match(lines[1]!, /ENV N=5/);
  assert.match(lines[3]!, /RUN work/);
  assert.match(lines[4]!, /# working/);
});

test('renderBuildProgress: the image ID goes to onAux, an error in the stream ends it with a StreamError after the error block', async () => {
  const msgs: JSONMessage[] = [
    vertex(1, '[1/2] FROM busybox', { started: at(0), completed: at(1) }),
    vertex(2, '[2/2] RUN false', { started: at(1) }),
    log(2, 'the-last-words\n', 2),
    vertex(2, '[2/2] RUN false', { started: at(1), completed: at(3), error: 'exit 1' }),
    { errorDetail: { message: 'exit 1' }, error: 'exit 1' },
  ];
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  await assert.rejects(renderBuildProgress(Readable.from([msgs.map((m) => JSON.stringify(m)).join('\n')]), out, { mode: 'plain' }), (e: unknown) => e instanceof StreamError && e.message === 'exit 1');
  assert.match(text, /#2 0\.001 the-last-words\n#2 ERROR: exit 1\n------\n > \[2\/2\] RUN false:\n#2 0\.001 the-last-words\n------\n$/);
  let id = '';
  const ok: JSONMessage[] = [vertex(1, '[1/1] FROM busybox', { started: at(0), completed: at(1) }), { aux: { ID: 'sha256:feed' } }];
  await renderBuildProgress(Readable.from([ok.map((m) => JSON.stringify(m)).join('\n')]), new PassThrough(), { mode: 'plain', onAux: (a) => (id = String(a.ID)) });
  assert.equal(id, 'sha256:feed');
});

test('--progress: auto is tty on a terminal, plain elsewhere; others are refused', () => {
  assert.equal(progressDisplay('auto', true), 'tty');
  assert.equal(progressDisplay('auto', false), 'plain');
  assert.equal(progressDisplay('plain', true), 'plain');
  assert.equal(progressDisplay('tty', false), 'tty');
  assert.equal(progressDisplay('quiet', false), 'quiet');
  assert.throws(() => progressDisplay('fancy', true), /invalid progress mode "fancy"/);
});

// ---- berthd's side: what the builder sends (engine/builder/progress.ts) ----

function stagesOf(text: string): { index: number; name?: string; from: Instruction; instructions: Instruction[] }[] {
  const stages: { index: number; name?: string; from: Instruction; instructions: Instruction[] }[] = [];
  for (const inst of parseDockerfile(text, 'Dockerfile').instructions) {
    if (inst.name === 'FROM') stages.push({ index: stages.length, name: inst.args.split(/\s+/)[2]?.toLowerCase(), from: inst, instructions: [] });
    else stages[stages.length - 1]!.instructions.push(inst);
  }
  return stages;
}

test('berthd: vertices named as BuildKit names steps, numbered in Dockerfile order; triggers and the export after', () => {
  const stages = stagesOf(`FROM busybox AS build\n${Array.from({ length: 10 }, (_, i) => `RUN echo ${i}`).join('\n')}\nFROM scratch\nCOPY --from=build /a /a\n`);
  const sent: JSONMessage[] = [];
  const v = new BuildVertices('vertex', (m) => sent.push(m), 14, stages);
  const [build, last] = stages as [(typeof stages)[0], (typeof stages)[0]];
  const from = v.step(build, build.from, 1, { from: 'busybox' });
  from.start();
  from.done();
  const run = v.step(build, build.instructions[9]!, 11);
  run.start();
  run.miss('the instruction changed');
  run.log('hi\n');
  run.fail(new Error('boom'));
  v.step(last, last.from, 12, { from: 'scratch' }).done();
  const trigger = v.step(last, last.instructions[0]!, 0, { trigger: true });
  trigger.cached();
  trigger.done();
  const exp = v.exporting();
  exp.status('writing image sha256:abc', new Date());
  exp.done();
  const vertices = sent.filter((m) => m.id === 'berth.build.vertex').map((m) => m.aux as Record<string, unknown>);
  const names = [...new Map(vertices.map((a) => [a.step, a.name])).entries()];
  assert.deepEqual(names, [
    [1, '[build  1/11] FROM docker.io/library/busybox:latest'],
    [11, '[build 11/11] RUN echo 9'],
    [12, '[stage-1 1/2] FROM scratch'],
    [15, '[stage-1 onbuild] COPY --from=build /a /a'],
    [16, 'exporting to image'],
  ]);
  const failed = vertices.filter((a) => a.step === 11).at(-1)!;
  assert.equal(failed.error, 'boom');
  assert.equal(failed.miss, 'the instruction changed');
  assert.ok(failed.started && failed.completed);
  assert.deepEqual(vertices.filter((a) => a.step === 15).at(-1)!.cached, true);
  // 14 steps and the export, then one more with the trigger.
  assert.deepEqual([...new Map(vertices.map((a) => [a.step, a.total])).entries()], [[1, 15], [11, 15], [12, 15], [15, 16], [16, 16]]);
  assert.deepEqual(sent.find((m) => m.id === 'berth.build.log')?.aux?.data, 'hi\n');
  assert.equal(sent.filter((m) => m.stream !== undefined).length, 0, 'no classic line');
});

test('berthd: in classic mode the steps say what the legacy builder says, and nothing else', () => {
  const stages = stagesOf('FROM busybox\nRUN echo hi\n');
  const sent: JSONMessage[] = [];
  const v = new BuildVertices('classic', (m) => sent.push(m), 2, stages);
  v.classic('Step 2/2 : RUN echo hi\n');
  const run = v.step(stages[0]!, stages[0]!.instructions[0]!, 2);
  run.start();
  run.miss('an earlier step changed');
  run.log('hi\n');
  run.status('ignored', new Date());
  run.done();
  const cached = v.step(stages[0]!, stages[0]!.instructions[0]!, 2);
  cached.cached();
  cached.done();
  const exp = v.exporting();
  exp.status('writing image sha256:abc', new Date());
  exp.done();
  assert.deepEqual(sent, [{ stream: 'Step 2/2 : RUN echo hi\n' }, { stream: ' ---> Cache miss: an earlier step changed\n' }, { stream: 'hi\n' }, { stream: ' ---> Using cache\n' }]);
});
