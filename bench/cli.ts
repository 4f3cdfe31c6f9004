// The small commands on an idle engine, each through its own CLI: berth's CLI against berthd, the docker
// CLI 28 (Go) against dockerd. What a user waits for most often; the target is ≤ 1.0× the Go CLI.
import { busyboxTar, importImage, report, startEngines, timeRun, type Engine } from './lib.js';

const N = Number(process.env.BENCH_RUNS ?? 15);

const COMMANDS: [string, string[]][] = [
  ['version', ['version']],
  ['ps', ['ps']],
  ['images', ['images']],
  ['inspect (a container)', ['inspect', 'benchcli']],
  ['logs --tail 10', ['logs', '--tail', '10', 'benchcli']],
];

async function main(): Promise<void> {
  const tar = busyboxTar();
  const [berth, docker] = await startEngines();
  try {
    const engines: Engine[] = [berth, docker];
    for (const e of engines) {
      importImage(e, tar, 'busybox:latest');
      timeRun(e, ['run', '-d', '--name', 'benchcli', 'busybox', 'sh', '-c', 'seq 1 1000; exec sleep 600']);
    }
    // berth's CLI as bin/berth runs it (the native front end and a warm CLI process), and as before, in a
    // fresh Node process (BERTH_CLI_DIRECT=1), interleaved with the docker CLI.
    const direct: Engine = { ...berth, name: 'direct', env: { ...berth.env, BERTH_CLI_DIRECT: '1' } };
    const all = [berth, direct, docker];
    for (const [title, args] of COMMANDS) {
      const times: Record<string, number[]> = { berth: [], direct: [], docker: [] };
      for (const e of all) timeRun(e, args); // warm-up
      for (let i = 0; i < N; i++) for (const e of all) times[e.name]!.push(timeRun(e, args));
      report(title, times.berth!, times.docker!, 1.0);
      if (!process.env.BENCH_CLI_NO_DIRECT) report(`${title} (BERTH_CLI_DIRECT=1)`, times.direct!, times.docker!);
    }
  } finally {
    await berth.stop();
    await docker.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
