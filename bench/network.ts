// Scenario (issue 4, networks): requests per second and p99 latency through a published port on 127.0.0.1,
// berth (nftables DNAT) vs Docker (iptables DNAT and docker-proxy, its defaults), with the same small
// keep-alive HTTP server in the container (bench/fixtures/httpd.c) and the same bounded load (wrk, fixed
// connections and duration); then the time to create and remove 20 networks and to start 20 containers on
// one network. Needs wrk (installed from Debian when missing) and gcc.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { REPO, busyboxTar, median, record, report, sh, startEngines, timeRun, type Engine } from './lib.js';

const DURATION_S = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function ensureWrk(): void {
  if (spawnSync('sh', ['-c', 'command -v wrk']).status === 0) return;
  console.error('bench: installing wrk from Debian');
  sh('(apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)) >/dev/null 2>&1');
}

/** The busybox image plus the static benchmark server at /httpd. */
async function serverImageTar(): Promise<string> {
  const base = busyboxTar();
  const dir = path.dirname(base);
  sh(`gcc -O2 -static -o ${dir}/rootfs/httpd ${REPO}/bench/fixtures/httpd.c && tar -C ${dir}/rootfs -cf ${dir}/http.tar .`);
  await fs.rm(base);
  return `${dir}/http.tar`;
}

function cli(e: Engine, args: string[]): string {
  const r = spawnSync(e.cli[0]!, [...e.cli.slice(1), ...args], { env: { ...process.env, ...e.env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${e.name} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Load {
  rps: number;
  p99ms: number;
}

/** wrk's latency distribution line "99%  1.23ms" and its "Requests/sec:" line. */
function wrk(port: number): Load {
  const out = sh(`wrk -t2 -c${CONNECTIONS} -d${DURATION_S}s --latency http://127.0.0.1:${port}/`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  if (!rps || !p99) throw new Error(`could not read wrk's output:\n${out}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[p99[2] as 'ms'];
  return { rps, p99ms: Number(p99[1]) * scale };
}

async function waitHttp(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (spawnSync('sh', ['-c', `wrk -t1 -c1 -d1s http://127.0.0.1:${port}/ 2>/dev/null | grep -q 'Requests/sec'`]).status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}

async function main(): Promise<void> {
  ensureWrk();
  const tar = await serverImageTar();
  const [berth, docker] = await startEngines({ iptables: true });
  const engines = [berth, docker];
  const ports: Record<string, number> = { berth: 18901, docker: 18902 };
  try {
    for (const e of engines) {
      cli(e, ['import', '-c', 'CMD ["/httpd", "80"]', tar, 'benchhttp:latest']);
      cli(e, ['run', '-d', '--name', 'srv', '-p', `127.0.0.1:${ports[e.name]}:80`, 'benchhttp']);
      await waitHttp(ports[e.name]!);
    }
    const loads: Record<string, Load[]> = { berth: [], docker: [] };
    for (let i = 0; i < ROUNDS; i++) for (const e of engines) loads[e.name]!.push(wrk(ports[e.name]!));
    const rps = (n: string) => median(loads[n]!.map((l) => l.rps));
    const p99 = (n: string) => median(loads[n]!.map((l) => l.p99ms));
    console.log(`published port, ${CONNECTIONS} connections × ${DURATION_S} s × ${ROUNDS} rounds (median)`);
    record({ work: 'published port requests/s', berth: rps('berth'), docker: rps('docker'), unit: 'req/s', target: 1, higherIsBetter: true });
    record({ work: 'published port p99 latency', berth: p99('berth'), docker: p99('docker'), unit: 'ms', target: 1 });
    console.log(`  requests/s       berth ${rps('berth').toFixed(0).padStart(8)}   docker ${rps('docker').toFixed(0).padStart(8)}   ratio ${(rps('berth') / rps('docker')).toFixed(2)}×  (target ≥ 1×: ${rps('berth') >= rps('docker') ? 'met' : 'NOT met'})`);
    console.log(`  p99 latency      berth ${p99('berth').toFixed(2).padStart(8)} ms docker ${p99('docker').toFixed(2).padStart(8)} ms ratio ${(p99('berth') / p99('docker')).toFixed(2)}×  (target ≤ 1×: ${p99('berth') <= p99('docker') ? 'met' : 'NOT met'})`);
    for (const e of engines) cli(e, ['rm', '-f', 'srv']);

    const netTimes: Record<string, number[]> = { berth: [], docker: [] };
    for (const e of engines) {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) cli(e, ['network', 'create', `bn${i}`]);
      for (let i = 0; i < 20; i++) cli(e, ['network', 'rm', `bn${i}`]);
      netTimes[e.name]!.push(performance.now() - t0);
    }
    report('create + remove 20 networks', netTimes.berth!, netTimes.docker!);

    const startTimes: Record<string, number[]> = { berth: [], docker: [] };
    for (const e of engines) {
      cli(e, ['network', 'create', 'bnet']);
      let total = 0;
      for (let i = 0; i < 20; i++) total += timeRun(e, ['run', '-d', '--network', 'bnet', 'benchhttp']);
      startTimes[e.name]!.push(total);
      spawnSync('sh', ['-c', `${e.cli.join(' ')} ps -aq | xargs -r ${e.cli.join(' ')} rm -f`], { env: { ...process.env, ...e.env } });
      cli(e, ['network', 'rm', 'bnet']);
    }
    report('start 20 containers on a network', startTimes.berth!, startTimes.docker!);
  } finally {
    // dockerd first: it restores the iptables rules saved before it started, then berth removes its own.
    await docker.stop();
    await berth.stop();
    await fs.rm(path.dirname(tar), { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
