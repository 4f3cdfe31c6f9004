// Logging: json-file rotation holds its bound under a container printing 1 GB; compressed rotation
// (compress=true: FILE.1.gz …) read back by logs, --tail, --since and -f across rotations; the local
// driver. Real runc and berth-shim, a private berthd.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DAEMON, TestDaemon } from './harness.js';

/** Bytes (st_size) and disk usage (st_blocks) of the log files whose names start with `prefix`. */
async function logUsage(dir: string, prefix: string): Promise<{ bytes: number; disk: number; names: string[] }> {
  const names = (await fs.readdir(dir).catch((): string[] => [])).filter((n) => n.startsWith(prefix));
  let bytes = 0;
  let disk = 0;
  for (const n of names) {
    const st = await fs.stat(path.join(dir, n)).catch(() => undefined);
    if (!st) continue; // rotated away between readdir and stat
    bytes += st.size;
    disk += st.blocks * 512;
  }
  return { bytes, disk, names };
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

function lineNumbers(out: string): number[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^line-(\d+)-/.exec(l);
      assert.ok(m, `unexpected log line ${JSON.stringify(l.slice(0, 80))}`);
      return Number(m[1]);
    });
}

function assertContiguous(nums: number[], first: number, last: number, what: string): void {
  assert.equal(nums[0], first, `${what}: starts at line ${first}`);
  assert.equal(nums[nums.length - 1], last, `${what}: ends at line ${last}`);
  const gap = nums.findIndex((n, i) => i > 0 && n !== nums[i - 1]! + 1);
  assert.equal(gap, -1, `${what}: every line once, in order (break after line ${nums[gap - 1]})`);
}

/** A shell loop printing line-0 … line-(n-1), `batch` lines then a 10 ms pause: a steady writer. */
function pacedWriter(n: number, batch: number): string {
  const pad = 'x'.repeat(60);
  return `i=0; while [ $i -lt ${n} ]; do j=0; while [ $j -lt ${batch} ]; do echo line-$i-${pad}; i=$((i+1)); j=$((j+1)); done; usleep 10000; done`;
}

describe('logging', () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start();
    await d.importBusybox();
  });
  after(async () => d.cleanup());

  it('keeps a container printing 1 GB within max-size × max-file on disk, and its last lines readable', async () => {
    // 1 GB of 1,000-character lines. max-size counts the json records (the line escaped, the stream,
    // the time: ~1,075 bytes per 1,001 bytes of output) and the shim rotates *before* a record would
    // push the file past it, so no file ever exceeds max-size: the bound is max-file × max-size =
    // 3 × 10,000,000 bytes (go-units' "10m" is decimal), plus block rounding on disk.
    const line = 'L'.repeat(999) + 'E';
    const total = 1 << 30;
    const run = await d.berth(['run', '-d', '--log-opt', 'max-size=10m', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c', `yes ${line} | head -c ${total}`]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const dir = path.join(d.root, 'containers', id);
    let maxBytes = 0;
    let maxDisk = 0;
    let samples = 0;
    let running = true;
    const exited = d.berth(['wait', id], { timeoutMs: 50_000 }).finally(() => (running = false));
    while (running) {
      const u = await logUsage(dir, `${id}-json.log`);
      maxBytes = Math.max(maxBytes, u.bytes);
      maxDisk = Math.max(maxDisk, u.disk);
      samples++;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await exited).stdout, '0\n');
    const end = await logUsage(dir, `${id}-json.log`);
    assert.deepEqual(end.names.sort(), [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
    assert.ok(samples > 10, `sampled during the run (${samples} samples)`);
    assert.ok(maxBytes <= 3 * 10_000_000, `log bytes peaked at ${maxBytes}, above 3 × max-size`);
    assert.ok(maxDisk <= 31_000_000, `log disk usage peaked at ${maxDisk} bytes, above ~31 MB`);
    assert.ok(end.bytes > 2 * 10_000_000, `the retained logs are near the bound (${end.bytes})`);
    // head cut the last line: 2^30 = 1,072,669 whole lines of 1,001 bytes + 155 bytes
    const tail = await d.berth(['logs', '--tail', '2', id]);
    assert.equal(tail.stdout, `${line}\n${line.slice(0, total % (line.length + 1))}`);
    await d.berth(['rm', id]);
  });

  it('compresses rotated files and reads them back: logs, --tail, --since, -f across rotations', async () => {
    // ~20 rotations in ~4 s; 10 files keep ~2 s of output, so a follower slowed down by a busy machine
    // still finds every line it has not read yet
    const n = 15_000;
    const files = 10;
    const run = await d.berth(['run', '-d', '--log-opt', 'max-size=100k', '--log-opt', `max-file=${files}`, '--log-opt', 'compress=true', 'busybox', 'sh', '-c', pacedWriter(n, 40)]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    const follow = d.berth(['logs', '-f', id], { timeoutMs: 50_000 });
    const dir = path.join(d.root, 'containers', id);
    // during the run: some rotated files are compressed while the container writes
    await waitFor(async () => (await logUsage(dir, `${id}-json.log`)).names.some((f) => f.endsWith('.gz')), 20_000, 'a compressed rotated file');
    assert.equal((await d.berth(['wait', id], { timeoutMs: 50_000 })).stdout, '0\n');
    const followed = await follow;
    assert.equal(followed.code, 0, followed.stderr);
    assertContiguous(lineNumbers(followed.stdout), 0, n - 1, 'logs -f');

    // compression finishes in the background: then only .gz rotated files remain, no temporary ones
    const expected = [`${id}-json.log`, ...Array.from({ length: files - 1 }, (_x, i) => `${id}-json.log.${i + 1}.gz`)].sort();
    await waitFor(async () => JSON.stringify((await logUsage(dir, `${id}-json.log`)).names.sort()) === JSON.stringify(expected), 10_000, `log files ${expected.join(' ')}`);
    for (const f of expected.slice(1)) {
      const text = zlib.gunzipSync(await fs.readFile(path.join(dir, f))).toString();
      const recs = text.trim().split('\n').map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
      assert.ok(text.length <= 100_000 && recs.length > 100, `${f}: a whole rotated json-file log`);
      assert.equal(recs[0]!.stream, 'stdout');
    }

    const all = (await d.berth(['logs', id])).stdout;
    const nums = lineNumbers(all);
    assertContiguous(nums, nums[0]!, n - 1, 'logs');
    const plainLines = (await fs.readFile(path.join(dir, `${id}-json.log`), 'utf8')).split('\n').filter(Boolean).length;
    assert.ok(nums.length > plainLines + (files - 1) * 600, `the compressed files were read (${nums.length} lines)`);

    // --tail reaching back into the compressed files
    const want = plainLines + 500;
    assertContiguous(lineNumbers((await d.berth(['logs', '--tail', String(want), id])).stdout), n - want, n - 1, `logs --tail ${want}`);
    assert.equal((await d.berth(['logs', '--tail', '1', id])).stdout, `line-${n - 1}-${'x'.repeat(60)}\n`);

    // --since an entry in .2.gz: from that entry on
    const mid = zlib.gunzipSync(await fs.readFile(path.join(dir, `${id}-json.log.2.gz`))).toString().split('\n')[10]!;
    const rec = JSON.parse(mid) as { log: string; time: string };
    const since = rec.time.replace(/^(.*T..:..:..)\.(\d+)Z$/, (_m, s: string, f: string) => `${Date.parse(s + 'Z') / 1000}.${f}`);
    const fromMid = lineNumbers((await d.berth(['logs', '--since', since, id])).stdout);
    assertContiguous(fromMid, Number(/^line-(\d+)-/.exec(rec.log)![1]), n - 1, 'logs --since');
    await d.berth(['rm', id]);
  });

  it('stores the local driver with its defaults (compressed rotation) and reads it', async () => {
    const n = 6_000;
    const run = await d.berth(['run', '-d', '--log-driver', 'local', '--log-opt', 'max-size=100k', 'busybox', 'sh', '-c', pacedWriter(n, 500)]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.equal((await d.berth(['wait', id], { timeoutMs: 50_000 })).stdout, '0\n');
    assert.equal((await d.berth(['inspect', '-f', '{{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}} [{{.LogPath}}]', id])).stdout, 'local {"max-size":"100k"} []\n');
    const dir = path.join(d.root, 'containers', id, 'local-logs');
    // local's defaults: max-file 5, compress true → container.log and container.log.1.gz … .4.gz
    const expected = ['container.log', 'container.log.1.gz', 'container.log.2.gz', 'container.log.3.gz', 'container.log.4.gz'];
    await waitFor(async () => JSON.stringify((await fs.readdir(dir)).sort()) === JSON.stringify(expected), 10_000, `local log files ${expected.join(' ')}`);
    const nums = lineNumbers((await d.berth(['logs', id])).stdout);
    assertContiguous(nums, nums[0]!, n - 1, 'logs of a local-driver container');
    assert.equal((await d.berth(['logs', '--tail', '2', id])).stdout, `line-${n - 2}-${'x'.repeat(60)}\nline-${n - 1}-${'x'.repeat(60)}\n`);
    await d.berth(['rm', id]);
  });

  it('refuses bad log options before creating anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--log-opt', 'compress=maybe'], /error reading compress log option: strconv\.ParseBool: parsing "maybe": invalid syntax/],
      [['--log-opt', 'max-file=1', '--log-opt', 'compress=true'], /compress cannot be true when max-file is less than 2 or max-size is not set/],
      [['--log-driver', 'local', '--log-opt', 'max-file=1'], /compression cannot be enabled when max file count is 1/],
      [['--log-driver', 'local', '--log-opt', 'labels=a'], /unknown log opt 'labels' for log driver local/],
      [['--log-opt', 'max-file=two'], /invalid value for max-file: two/],
      [['--log-opt', 'max-size=0'], /max-size must be a positive number/],
      [['--log-opt', 'max-size=-1'], /invalid value for max-size: -1: invalid size: '-1'/],
      [['--log-opt', 'bogus=1'], /unknown log opt 'bogus' for json-file log driver/],
    ];
    const before = (await d.berth(['ps', '-aq'])).stdout;
    for (const [flags, message] of cases) {
      const r = await d.berth(['run', '-d', ...flags, 'busybox', 'true']);
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal((await d.berth(['ps', '-aq'])).stdout, before, 'no container created');
  });
});

describe('berthd --log-opt', () => {
  it('refuses a bad daemon-wide log option at start, creating nothing', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = await fs.mkdtemp('/tmp/bt-logopt-');
    try {
      for (const [opt, message] of [
        ['max-size=banana', /^berthd: invalid --log-opt: invalid value for max-size: banana/],
        ['colour=red', /^berthd: invalid --log-opt: unknown log opt 'colour' for json-file log driver/],
        ['max-file=0', /^berthd: invalid --log-opt: max-file cannot be less than 1/],
      ] as const) {
        const r = spawnSync(process.execPath, [DAEMON, '--root', `${dir}/root`, '--exec-root', `${dir}/run`, '-H', `unix://${dir}/s.sock`, '--log-opt', opt], { encoding: 'utf8', timeout: 20_000 });
        assert.equal(r.status, 1, opt);
        assert.match(r.stderr, message);
      }
      assert.deepEqual(await fs.readdir(dir), [], 'no root, exec root or socket');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
