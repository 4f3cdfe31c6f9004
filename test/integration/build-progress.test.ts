// `berth build --progress`: BuildKit's views of a build, drawn from the vertices berthd sends berth's CLI
// (plain "#N" lines with each step's output under its own number, even from stages running at the same
// time; CACHED, DONE, the cache miss and why; the error block), the redrawn terminal view through a
// pseudo-terminal, -q, and the classic lines the docker CLI's legacy builder still gets.
/* eslint-disable no-control-regex -- terminal escape codes are what these tests look at */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { context, REPO, runCmd, TestDaemon } from './harness.js';

interface PlainStep {
  name: string;
  /** The output lines: [seconds, text]. */
  logs: [number, string][];
  other: string[];
  end?: string;
}

/** BuildKit's plain output, step by step ("#N …" lines gathered under their N). */
function parsePlain(text: string): Map<number, PlainStep> {
  const steps = new Map<number, PlainStep>();
  for (const line of text.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const rest = m[2]!;
    const s = steps.get(n);
    if (!s) {
      steps.set(n, { name: rest, logs: [], other: [] });
      continue;
    }
    const log = /^(\d+\.\d+) (.*)$/.exec(rest);
    if (rest === s.name || rest === '...') continue; // a block of the step again, or its end
    if (/^(DONE \d+\.\d+s|CACHED|CANCELED|ERROR: .*)$/.test(rest)) s.end = rest;
    else if (log) s.logs.push([Number(log[1]), log[2]!]);
    else s.other.push(rest);
  }
  return steps;
}

function stepNamed(steps: Map<number, PlainStep>, part: string): PlainStep & { n: number } {
  for (const [n, s] of steps) if (s.name.includes(part)) return { ...s, n };
  assert.fail(`no step named like ${part} in ${JSON.stringify([...steps.values()].map((s) => s.name))}`);
}

const TWO_STAGES = `FROM busybox AS one
RUN for i in 1 2 3 4; do echo one-$i; sleep 0.3; done
RUN echo built-one > /one

FROM busybox AS two
RUN for i in 1 2 3 4; do echo two-$i >&2; sleep 0.3; done
COPY greeting.txt /greeting.txt

FROM busybox
COPY --from=one /one /one
COPY --from=two /greeting.txt /two
RUN cat /one /two
`;

describe('build progress', () => {
  let d: TestDaemon;
  let ctx: string;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
    ctx = await context({ Dockerfile: TWO_STAGES, 'greeting.txt': 'hello\n' });
  });
  after(async () => {
    await fs.rm(ctx, { recursive: true, force: true });
    await d.cleanup();
  });

  it('plain: #N steps named as BuildKit names them, each output line under its own step with two stages at once, DONE with durations', async () => {
    const r = await d.berth(['build', '--progress=plain', '-t', 'prog:1', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'the progress goes to stderr, as BuildKit’s does');
    const steps = parsePlain(r.stderr);
    assert.deepEqual(
      [...steps.entries()].sort(([a], [b]) => a - b).map(([n, s]) => `#${n} ${s.name}`),
      [
        '#1 [one 1/3] FROM docker.io/library/busybox:latest',
        '#2 [one 2/3] RUN for i in 1 2 3 4; do echo one-$i; sleep 0.3; done',
        '#3 [one 3/3] RUN echo built-one > /one',
        '#4 [two 1/3] FROM docker.io/library/busybox:latest',
        '#5 [two 2/3] RUN for i in 1 2 3 4; do echo two-$i >&2; sleep 0.3; done',
        '#6 [two 3/3] COPY greeting.txt /greeting.txt',
        '#7 [stage-2 1/4] FROM docker.io/library/busybox:latest',
        '#8 [stage-2 2/4] COPY --from=one /one /one',
        '#9 [stage-2 3/4] COPY --from=two /greeting.txt /two',
        '#10 [stage-2 4/4] RUN cat /one /two',
        '#11 exporting to image',
      ],
    );
    const one = steps.get(2)!;
    const two = steps.get(5)!;
    assert.deepEqual(one.logs.map(([, t]) => t), ['one-1', 'one-2', 'one-3', 'one-4']);
    assert.deepEqual(two.logs.map(([, t]) => t), ['two-1', 'two-2', 'two-3', 'two-4'], 'stderr too, under its own step');
    // Each line carries its time since the step's start, in the order the lines came (durations belong in bench/).
    for (const s of [one, two]) {
      const times = s.logs.map(([t]) => t);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), JSON.stringify(s.logs));
      assert.match(s.end!, /^DONE \d+\.\ds$/);
    }
    assert.deepEqual(steps.get(10)!.logs.map(([, t]) => t), ['built-one', 'hello']);
    for (const [n, s] of steps) assert.match(s.end ?? '', /^DONE \d+\.\ds$/, `#${n} ${s.name} is done`);
    assert.match(r.stderr, /\n#11 exporting to image\n#11 writing image sha256:[0-9a-f]{64}( \d+\.\ds)? done\n#11 naming to docker\.io\/library\/prog:1 done\n#11 DONE \d+\.\ds\n$/);
    const id = (await d.berth(['image', 'inspect', '-f', '{{.Id}}', 'prog:1'])).stdout.trim();
    assert.ok(r.stderr.includes(`writing image ${id}`), 'the image written is the one tagged');
  });

  it('plain: CACHED on a second build, and the cache miss says why', async () => {
    const again = await d.berth(['build', '--progress=plain', '-t', 'prog:1', ctx]);
    assert.equal(again.code, 0, again.stderr);
    const steps = parsePlain(again.stderr);
    for (const s of steps.values()) {
      if (/ FROM |exporting/.test(s.name)) continue;
      assert.equal(s.end, 'CACHED', s.name);
      assert.deepEqual(s.logs, [], `${s.name} ran nothing`);
    }
    await fs.writeFile(path.join(ctx, 'greeting.txt'), 'hello again\n');
    const changed = await d.berth(['build', '--progress=plain', '-t', 'prog:2', ctx]);
    assert.equal(changed.code, 0, changed.stderr);
    const after = parsePlain(changed.stderr);
    assert.equal(stepNamed(after, 'RUN echo built-one').end, 'CACHED');
    const copy = stepNamed(after, 'COPY greeting.txt');
    assert.match(copy.end!, /^DONE/);
    assert.deepEqual(copy.other, ['berth: cache miss: the files it copies changed']);
    assert.deepEqual(stepNamed(after, 'COPY --from=two').other, ['berth: cache miss: the files it copies changed'], 'the stage it copies from changed');
    const run = stepNamed(after, 'RUN cat');
    assert.deepEqual(run.other, ['berth: cache miss: an earlier step changed']);
    assert.deepEqual(run.logs.map(([, t]) => t), ['built-one', 'hello again']);
  });

  it('plain: a failing step shows ERROR, its last output lines between rules, the error, and a non-zero exit', async () => {
    const fail = await d.berth(['build', '--progress=plain', '-'], { input: 'FROM busybox\nRUN echo first; echo the-last-words; exit 4\nRUN echo never\n' });
    assert.equal(fail.code, 1);
    const cmd = "The command '/bin/sh -c echo first; echo the-last-words; exit 4' returned a non-zero code: 4";
    assert.match(fail.stderr, new RegExp(`#2 \\[2/3\\] RUN echo first; echo the-last-words; exit 4\\n(#2 berth: cache miss: .*\\n)?#2 0\\.\\d{3} first\\n#2 0\\.\\d{3} the-last-words\\n#2 ERROR: ${esc(cmd)}\\n`));
    assert.match(fail.stderr, new RegExp(`\\n------\\n > \\[2/3\\] RUN echo first; echo the-last-words; exit 4:\\n#2 0\\.\\d{3} first\\n#2 0\\.\\d{3} the-last-words\\n------\\n${esc(cmd)}\\n$`));
    assert.doesNotMatch(fail.stderr, /RUN echo never/, 'the next step never started');
  });

  it('plain: a stage waiting on a failed one is canceled, not a second error', async () => {
    const c = await context({ Dockerfile: 'FROM busybox AS broken\nRUN exit 7\n\nFROM broken\nRUN echo unreachable\n' });
    try {
      const r = await d.berth(['build', '--progress=plain', c]);
      assert.equal(r.code, 1);
      const steps = parsePlain(r.stderr);
      assert.match(stepNamed(steps, 'RUN exit 7').end!, /^ERROR: The command '\/bin\/sh -c exit 7' returned a non-zero code: 7$/);
      assert.equal(stepNamed(steps, '[stage-1 1/2] FROM broken').end, 'CANCELED');
      assert.equal(r.stderr.split('\n------\n').length, 3, 'one error block: ' + r.stderr);
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('auto off a terminal is plain; -q prints only the image ID; an unknown mode is refused', async () => {
    const auto = await d.berth(['build', '-t', 'prog:auto', ctx]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.match(auto.stderr, /^#1 \[one 1\/3\] FROM /m, "plain lines (stages print in the order they run)");
    assert.doesNotMatch(auto.stderr, /\x1b\[/, 'no escape codes off a terminal');
    const quiet = await d.berth(['build', '-q', ctx]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(quiet.stderr, '');
    const bad = await d.berth(['build', '--progress=fancy', ctx]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid progress mode "fancy"/);
  });

  it('tty: through a pseudo-terminal, a view redrawn in place with the "[+] Building" header', { skip: !existsSync('/usr/bin/script') && 'no script(1)' }, async () => {
    const c = await context({ Dockerfile: 'FROM busybox\nRUN for i in 1 2 3 4 5; do echo tick-$i; sleep 0.2; done\n' });
    try {
      const cli = path.join(REPO, 'dist/src/cli/main.js');
      const cmd = `stty cols 100 rows 40; ${process.execPath} ${cli} -H ${d.host} build --progress=tty --no-cache -t prog:tty ${c}`;
      const r = await runCmd(['script', '-qec', cmd, '/dev/null'], { env: { DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /\[\+\] Building \d+\.\ds \(\d+\/3\)/);
      assert.match(r.stdout, /\x1b\[\d+A/, 'the cursor goes back up to redraw');
      assert.match(r.stdout, / => => # tick-\d/, 'a running step shows its last output lines');
      const last = r.stdout.slice(r.stdout.lastIndexOf('[+] Building'));
      assert.match(last, /^\[\+\] Building \d+\.\ds \(3\/3\) FINISHED/);
      assert.match(last, / => \[2\/2\] RUN for i in 1 2 3 4 5; do echo tick-\$i; sleep 0\.2; done +1\.\ds/);
      assert.match(last, / => exporting to image +\d+\.\ds/);
      assert.doesNotMatch(last, /# tick-/, 'the final view has no output lines');
      const auto = await runCmd(['script', '-qec', cmd.replace('--progress=tty', ''), '/dev/null'], { env: { DOCKER_CONFIG: path.join(d.dir, 'docker-config') } });
      assert.match(auto.stdout, /\[\+\] Building/, 'auto on a terminal is the tty view');
    } finally {
      await fs.rm(c, { recursive: true, force: true });
    }
  });

  it('the docker CLI’s legacy builder still gets the classic lines', { skip: !existsSync('/usr/local/bin/docker') && 'no docker CLI' }, async () => {
    const r = await d.docker(['build', '--no-cache', '-t', 'prog:docker', ctx], { env: { DOCKER_BUILDKIT: '0' } });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /Step 1\/10 : FROM busybox AS one\n/);
    assert.match(r.stdout, /Step 10\/10 : RUN cat \/one \/two\n ---> Running in [0-9a-f]{12}\nbuilt-one\nhello again\n ---> [0-9a-f]{12}\n/);
    assert.match(r.stdout, /Successfully built [0-9a-f]{12}\nSuccessfully tagged prog:docker\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, /berth\.build|#\d+ /);
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
