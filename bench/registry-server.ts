// Scenario (issue 6, the registry server): manifest GET and blob GET throughput of `berth registry serve`
// vs Debian's docker-registry (distribution 2.8) on the same machine, both on 127.0.0.1, serving the same
// content (one image pushed to each over the same HTTP calls: a config, a BENCH_BLOB_MB layer, an OCI
// manifest). Load: wrk with 32 connections for 8 s per round, alternating servers, medians of 3 rounds.
// distribution gets its usual configuration (in-memory blob descriptor cache), minus the access log.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { median, record, REPO, sh } from './lib.js';
import { startDistribution, stopChild, waitUp } from '../test/support/distribution.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const BLOB_MB = Number(process.env.BENCH_BLOB_MB ?? 4);
const TARGET = 1.5;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');



/** Debian's docker-registry and wrk, installed when missing. A registry service the package starts is stopped again. */
function ensureTools(): void {
  if (!existsSync('/usr/bin/wrk')) {
    console.error('bench: installing wrk');
    sh('(apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)) >/dev/null 2>&1');
  }
  if (!existsSync('/usr/bin/docker-registry')) {
    console.error('bench: installing Debian docker-registry');
    sh('(apt-get install -y -q docker-registry || (apt-get update -q && apt-get install -y -q docker-registry)) >/dev/null 2>&1');
    // The package starts its own service on :5000: this benchmark runs private ones only.
    spawnSync('sh', ['-c', 'systemctl stop docker-registry 2>/dev/null; systemctl disable docker-registry 2>/dev/null; service docker-registry stop 2>/dev/null'], { stdio: 'ignore' });
  }
}

interface Server {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startDistributionServer(): Promise<Server> {
  const r = await startDistribution({ fast: true });
  return { name: 'distribution', url: r.url, pid: r.pid, stop: r.stop };
}

async function startBerthRegistry(dir: string): Promise<Server> {
  const child = spawn(process.execPath, [path.join(REPO, 'dist/src/cli/main.js'), 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', `${dir}/root`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`berth registry serve exited: ${out}`)));
  });
  await waitUp(url, child, 'berth registry serve');
  return { name: 'berth', url, pid: child.pid!, stop: () => stopChild(child) };
}

/** The same push to each: blobs by POST then PUT ?digest= with the body (both servers take that), then the manifest. */
async function pushImage(base: string, repo: string, blobs: Buffer[], manifest: Buffer): Promise<void> {
  for (const b of blobs) {
    const post = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    if (post.status !== 202) throw new Error(`${base}: POST upload ${post.status}`);
    const loc = new URL(post.headers.get('location')!, base);
    loc.searchParams.set('digest', sha(b));
    const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(b), headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`${base}: PUT blob ${put.status} ${await put.text()}`);
  }
  const r = await fetch(`${base}/v2/${repo}/manifests/v1`, { method: 'PUT', body: new Uint8Array(manifest), headers: { 'Content-Type': OCI_MANIFEST } });
  if (r.status !== 201) throw new Error(`${base}: PUT manifest ${r.status} ${await r.text()}`);
}

interface WrkResult {
  rps: number;
  bytesPerSec: number;
  errors: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function wrk(url: string, headers: string[] = []): WrkResult {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--timeout', '10s', ...headers.flatMap((h) => ['-H', h]), url];
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk ${args.join(' ')}: ${r.stderr}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const t = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(r.stdout);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0) + Number(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  if (errors) console.error(`wrk ${url}: ${r.stdout.split('\n').filter((l) => /Non-2xx|Socket errors/.test(l)).join('; ')}`);
  return { rps, bytesPerSec: t ? Number(t[1]) * UNITS[t[2]!]! : NaN, errors };
}

async function main(): Promise<void> {
  ensureTools();
  const dir = await fs.mkdtemp('/tmp/bench-registry-');
  const servers: Server[] = [];
  try {
    await fs.mkdir(`${dir}/distribution`);
    await fs.mkdir(`${dir}/berth`);
    servers.push(await startBerthRegistry(`${dir}/berth`), await startDistributionServer());
    const layer = randomBytes(BLOB_MB * 1024 * 1024);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.length, digest: sha(config) },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: layer.length, digest: sha(layer) }],
      }),
    );
    for (const s of servers) {
      await pushImage(s.url, 'bench/app', [config, layer], manifest);
      // Both serve the same bytes.
      const m = await fetch(`${s.url}/v2/bench/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
      if (m.headers.get('docker-content-digest') !== sha(manifest)) throw new Error(`${s.name}: manifest digest ${m.headers.get('docker-content-digest')}`);
      const b = Buffer.from(await (await fetch(`${s.url}/v2/bench/app/blobs/${sha(layer)}`)).arrayBuffer());
      if (!b.equals(layer)) throw new Error(`${s.name}: blob differs`);
    }
    const results: Record<string, { manifest: WrkResult[]; blob: WrkResult[] }> = { berth: { manifest: [], blob: [] }, distribution: { manifest: [], blob: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const s of round % 2 ? [...servers].reverse() : servers) {
        results[s.name]!.manifest.push(wrk(`${s.url}/v2/bench/app/manifests/v1`, [`Accept: ${OCI_MANIFEST}`]));
        results[s.name]!.blob.push(wrk(`${s.url}/v2/bench/app/blobs/${sha(layer)}`));
      }
    }
    console.log(`registry on 127.0.0.1: wrk ${CONNECTIONS} connections × ${SECONDS} s × ${ROUNDS} rounds (median); berth registry serve vs distribution 2.8 (Debian docker-registry)`);
    for (const [what, label] of [
      ['manifest', `manifest GET (${manifest.length} B)`],
      ['blob', `blob GET (${BLOB_MB} MiB)`],
    ] as const) {
      const b = results.berth![what];
      const d = results.distribution![what];
      const errs = [...b, ...d].reduce((a, r) => a + r.errors, 0);
      if (errs) throw new Error(`${what}: ${errs} failed requests`);
      const br = median(b.map((r) => r.rps));
      const dr = median(d.map((r) => r.rps));
      const ratio = br / dr;
      record({ work: `registry server ${label}`, berth: br, docker: dr, unit: 'req/s', target: TARGET, higherIsBetter: true });
      const mb = (rs: WrkResult[]): string => (what === 'blob' ? `  ${(median(rs.map((r) => r.bytesPerSec)) / 1024 ** 2).toFixed(0).padStart(5)} MiB/s` : '');
      console.log(
        `  ${label.padEnd(24)} berth ${br.toFixed(0).padStart(7)} req/s${mb(b)}   distribution ${dr.toFixed(0).padStart(7)} req/s${mb(d)}   ratio ${ratio.toFixed(2)}×  (target ≥ ${TARGET}×: ${ratio >= TARGET ? 'met' : 'NOT met'})`,
      );
    }
  } finally {
    for (const s of servers) await s.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
