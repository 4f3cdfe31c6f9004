// `berth registry serve`: the OCI distribution flows over raw HTTP (uploads monolithic and chunked, wrong
// digests, out-of-order chunks, mounts, manifests and content negotiation, pagination, referrers, ranges,
// deletes), basic and token auth, TLS, read-only mode, upload expiry, quotas and `registry gc`; then real
// peers — Debian's dockerd pushes and pulls, skopeo copies both ways. Every server listens on 127.0.0.1
// on a port the kernel picks, runs from the compiled CLI and is stopped by PID.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { busyboxTar, DOCKER_CLI, enterDockerd, leaveDockerd, ping, REPO, runCmd, TestDaemon, type RunResult } from './harness.js';
import { waitFor } from './waits.js';

const CLI = path.join(REPO, 'dist/src/cli/main.js');
const SKOPEO = '/usr/bin/skopeo';
const DOCKERD = '/usr/sbin/dockerd';
const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
};
const ALL_TYPES = Object.values(MT).join(', ');

const sha = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A `berth registry serve` process on 127.0.0.1 with a port of the kernel's choosing. */
class Serve {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly root: string,
    readonly output: () => string,
  ) {}

  get host(): string {
    return this.url.replace(/^https?:\/\//, '');
  }

  static async start(root: string, args: string[] = []): Promise<Serve> {
    const child = spawn(process.execPath, [CLI, 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    for (let i = 0; i < 300; i++) {
      const m = /listening on (https?:\/\/[^ ]+)/.exec(out);
      if (m) return new Serve(child, m[1]!, root, () => out);
      if (child.exitCode !== null) throw new Error(`registry serve exited: ${out}`);
      await sleep(20);
    }
    child.kill('SIGKILL');
    throw new Error(`registry serve did not start: ${out}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    assert.doesNotMatch(this.output(), /^error: /m, 'the server logged no internal error');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
  code(): string | undefined;
}

async function call(method: string, url: string, opts: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Res> {
  const send = typeof opts.body === 'string' ? opts.body : opts.body && new Uint8Array(opts.body);
  const r = await fetch(url, { method, headers: opts.headers, body: send, redirect: 'manual' });
  const body = Buffer.from(await r.arrayBuffer());
  return {
    status: r.status,
    headers: r.headers,
    body,
    json: <T>() => JSON.parse(body.toString()) as T,
    code: () => {
      try {
        return (JSON.parse(body.toString()) as { errors?: { code: string }[] }).errors?.[0]?.code;
      } catch {
        return undefined;
      }
    },
  };
}

/** Upload a blob in one POST (?digest=) and check the answer. */
async function putBlob(base: string, repo: string, data: Buffer, headers: Record<string, string> = {}): Promise<string> {
  const d = sha(data);
  const r = await call('POST', `${base}/v2/${repo}/blobs/uploads/?digest=${d}`, { body: data, headers: { 'Content-Type': 'application/octet-stream', ...headers } });
  assert.equal(r.status, 201, r.body.toString());
  return d;
}

interface TestImage {
  config: Buffer;
  layer: Buffer;
  manifest: Buffer;
  digest: string;
}

/** An image manifest (Docker schema 2 or OCI) over one random layer, its blobs uploaded to `repo`. */
async function pushImage(base: string, repo: string, tag: string | undefined, opts: { type?: string; layerSize?: number; headers?: Record<string, string>; extra?: Record<string, unknown> } = {}): Promise<TestImage> {
  const type = opts.type ?? MT.dockerManifest;
  const layer = randomBytes(opts.layerSize ?? 4096);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] }, nonce: randomBytes(4).toString('hex') }));
  await putBlob(base, repo, config, opts.headers);
  await putBlob(base, repo, layer, opts.headers);
  const oci = type === MT.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: type,
      config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
      ...opts.extra,
    }),
  );
  const r = await call('PUT', `${base}/v2/${repo}/manifests/${tag ?? sha(manifest)}`, { body: manifest, headers: { 'Content-Type': type, ...opts.headers } });
  assert.equal(r.status, 201, r.body.toString());
  return { config, layer, manifest, digest: sha(manifest) };
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await fs.readdir(dir, { recursive: true }).catch(() => [] as string[])).map(String);
}

describe('registry server', () => {
  let tmp: string;
  let srv: Serve;
  let base: string;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-'));
    srv = await Serve.start(path.join(tmp, 'main'));
    base = srv.url;
  });
  after(async () => {
    await srv?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('answers /v2/ with the API version header', async () => {
    const r = await call('GET', `${base}/v2/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(r.json(), {});
  });

  it('takes a monolithic upload and serves the blob with its digest', async () => {
    const data = randomBytes(100_000);
    const d = sha(data);
    const r = await call('POST', `${base}/v2/mono/blobs/uploads/?digest=${d}`, { body: data });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/mono/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    const head = await call('HEAD', `${base}/v2/mono/blobs/${d}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    assert.equal(head.headers.get('docker-content-digest'), d);
    const get = await call('GET', `${base}/v2/mono/blobs/${d}`);
    assert.ok(get.body.equals(data));
    // Not linked to another repository: unknown there.
    const other = await call('GET', `${base}/v2/elsewhere/blobs/${d}`);
    assert.equal(other.status, 404);
    assert.equal(other.code(), 'BLOB_UNKNOWN');
  });

  it('takes a chunked upload: POST, PATCH with Content-Range, status, out-of-order PATCH refused with 416, PUT', async () => {
    const data = randomBytes(300_000);
    const d = sha(data);
    const post = await call('POST', `${base}/v2/chunked/app/blobs/uploads/`);
    assert.equal(post.status, 202);
    const uuid = post.headers.get('docker-upload-uuid')!;
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal(post.headers.get('range'), '0-0');
    const loc = post.headers.get('location')!;
    assert.equal(loc, `/v2/chunked/app/blobs/uploads/${uuid}`);
    const p1 = await call('PATCH', base + loc, { body: data.subarray(0, 100_000), headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' } });
    assert.equal(p1.status, 202, p1.body.toString());
    assert.equal(p1.headers.get('range'), '0-99999');
    assert.equal(p1.headers.get('docker-upload-uuid'), uuid);
    // A gap: the chunk starts after what the upload holds.
    const gap = await call('PATCH', base + loc, { body: data.subarray(100_010, 200_000), headers: { 'Content-Range': '100010-199999' } });
    assert.equal(gap.status, 416);
    assert.equal(gap.code(), 'RANGE_INVALID');
    assert.equal(gap.headers.get('range'), '0-99999');
    // A chunk shorter than its Content-Range says: refused, the upload unchanged.
    const short = await call('PATCH', base + loc, { body: data.subarray(100_000, 100_100), headers: { 'Content-Range': '100000-100199' } });
    assert.equal(short.status, 400);
    assert.equal(short.code(), 'SIZE_INVALID');
    const status = await call('GET', base + loc);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-99999');
    // Streamed chunk without Content-Range, then the last chunk in the PUT.
    const p2 = await call('PATCH', base + loc, { body: data.subarray(100_000, 250_000) });
    assert.equal(p2.status, 202);
    assert.equal(p2.headers.get('range'), '0-249999');
    const put = await call('PUT', `${base}${loc}?digest=${d}`, { body: data.subarray(250_000), headers: { 'Content-Range': '250000-299999' } });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(put.headers.get('docker-content-digest'), d);
    assert.equal(put.headers.get('location'), `/v2/chunked/app/blobs/${d}`);
    assert.ok((await call('GET', `${base}/v2/chunked/app/blobs/${d}`)).body.equals(data));
    const gone = await call('GET', base + loc);
    assert.equal(gone.status, 404);
    assert.equal(gone.code(), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('keeps nothing when the digest does not match (chunked and monolithic)', async () => {
    const data = randomBytes(50_000);
    const wrong = sha('something else');
    const post = await call('POST', `${base}/v2/wrong/blobs/uploads/`);
    const loc = post.headers.get('location')!;
    assert.equal((await call('PATCH', base + loc, { body: data })).status, 202);
    const put = await call('PUT', `${base}${loc}?digest=${wrong}`);
    assert.equal(put.status, 400);
    assert.equal(put.code(), 'DIGEST_INVALID');
    assert.equal((await call('GET', base + loc)).status, 404, 'the upload is gone');
    const mono = await call('POST', `${base}/v2/wrong/blobs/uploads/?digest=${wrong}`, { body: data });
    assert.equal(mono.status, 400);
    assert.equal(mono.code(), 'DIGEST_INVALID');
    assert.equal((await call('HEAD', `${base}/v2/wrong/blobs/${sha(data)}`)).status, 404);
    assert.equal(existsSync(path.join(srv.root, 'content/sha256', sha(data).slice(7))), false, 'no blob stored under the real digest');
    assert.deepEqual(await filesUnder(path.join(srv.root, 'uploads')), [], 'no upload data left');
    assert.deepEqual(await filesUnder(path.join(srv.root, 'content/ingest')), []);
    // A PUT without a digest, an invalid digest.
    const p2 = await call('POST', `${base}/v2/wrong/blobs/uploads/`);
    assert.equal((await call('PUT', base + p2.headers.get('location')!)).code(), 'DIGEST_INVALID');
    assert.equal((await call('POST', `${base}/v2/wrong/blobs/uploads/?digest=sha256:xyz`, { body: 'a' })).code(), 'DIGEST_INVALID');
  });

  it('cancels an upload with DELETE', async () => {
    const post = await call('POST', `${base}/v2/cancel/blobs/uploads/`);
    const loc = post.headers.get('location')!;
    await call('PATCH', base + loc, { body: 'partial' });
    assert.equal((await call('DELETE', base + loc)).status, 204);
    const again = await call('PATCH', base + loc, { body: 'more' });
    assert.equal(again.status, 404);
    assert.equal(again.code(), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal((await call('GET', `${base}/v2/cancel/blobs/uploads/00000000-0000-0000-0000-000000000000`)).code(), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('stores concurrent uploads of the same blob once, intact', async () => {
    const data = randomBytes(1 << 20);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', `${base}/v2/same${i % 2}/blobs/uploads/?digest=${sha(data)}`, { body: data })));
    assert.deepEqual(results.map((r) => r.status), Array(8).fill(201));
    const stored = await fs.readFile(path.join(srv.root, 'content/sha256', sha(data).slice(7)));
    assert.ok(stored.equals(data));
    assert.ok((await call('GET', `${base}/v2/same1/blobs/${sha(data)}`)).body.equals(data));
  });

  it('mounts a blob across repositories, and falls back to an upload when the source lacks it', async () => {
    const d = await putBlob(base, 'mount/src', randomBytes(2048));
    const r = await call('POST', `${base}/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/mount/dst/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.equal((await call('HEAD', `${base}/v2/mount/dst/blobs/${d}`)).status, 200);
    const missing = sha('not anywhere');
    const fb = await call('POST', `${base}/v2/mount/dst/blobs/uploads/?mount=${missing}&from=mount/src`);
    assert.equal(fb.status, 202);
    assert.match(fb.headers.get('location')!, /^\/v2\/mount\/dst\/blobs\/uploads\/[0-9a-f-]{36}$/);
    assert.equal((await call('DELETE', base + fb.headers.get('location')!)).status, 204);
  });

  it('refuses a manifest naming a missing blob or child, stores one that names what it has', async () => {
    const layer = randomBytes(1000);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const cd = await putBlob(base, 'man/app', config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: cd },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
      }),
    );
    const refused = await call('PUT', `${base}/v2/man/app/manifests/v1`, { body: manifest, headers: { 'Content-Type': MT.dockerManifest } });
    assert.equal(refused.status, 400);
    assert.equal(refused.code(), 'MANIFEST_BLOB_UNKNOWN');
    assert.deepEqual((refused.json<{ errors: { detail: unknown }[] }>().errors[0]!.detail), { digest: sha(layer) });
    assert.equal((await call('GET', `${base}/v2/man/app/manifests/v1`, { headers: { Accept: ALL_TYPES } })).code(), 'MANIFEST_UNKNOWN');
    await putBlob(base, 'man/app', layer);
    const ok = await call('PUT', `${base}/v2/man/app/manifests/v1`, { body: manifest, headers: { 'Content-Type': MT.dockerManifest } });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('docker-content-digest'), sha(manifest));
    assert.equal(ok.headers.get('location'), `/v2/man/app/manifests/${sha(manifest)}`);
    for (const ref of ['v1', sha(manifest)]) {
      const g = await call('GET', `${base}/v2/man/app/manifests/${ref}`, { headers: { Accept: MT.dockerManifest } });
      assert.equal(g.status, 200);
      assert.ok(g.body.equals(manifest), 'the bytes as pushed');
      assert.equal(g.headers.get('content-type'), MT.dockerManifest);
      assert.equal(g.headers.get('docker-content-digest'), sha(manifest));
      const h = await call('HEAD', `${base}/v2/man/app/manifests/${ref}`, { headers: { Accept: MT.dockerManifest } });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-length'), String(manifest.length));
    }
    // Bad input: a digest that does not match the body, a malformed tag, a bad name, bad JSON, unknown tag and repository.
    const mism = await call('PUT', `${base}/v2/man/app/manifests/${sha('x')}`, { body: manifest, headers: { 'Content-Type': MT.dockerManifest } });
    assert.equal(mism.code(), 'DIGEST_INVALID');
    assert.equal((await call('PUT', `${base}/v2/man/app/manifests/-bad`, { body: manifest, headers: { 'Content-Type': MT.dockerManifest } })).code(), 'TAG_INVALID');
    for (const bad of ['Upper/case', 'a//b', 'trailing-', '-lead', 'x'.repeat(256)]) {
      const r = await call('GET', `${base}/v2/${bad}/tags/list`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.code(), 'NAME_INVALID', bad);
    }
    assert.equal((await call('PUT', `${base}/v2/man/app/manifests/v2`, { body: '{not json', headers: { 'Content-Type': MT.dockerManifest } })).code(), 'MANIFEST_INVALID');
    assert.equal((await call('GET', `${base}/v2/man/app/manifests/nope`)).code(), 'MANIFEST_UNKNOWN');
    assert.equal((await call('GET', `${base}/v2/no/such/repo/manifests/v1`)).code(), 'NAME_UNKNOWN');
    assert.equal((await call('GET', `${base}/v2/no/such/repo/tags/list`)).code(), 'NAME_UNKNOWN');
    // An index naming a child manifest the repository does not have.
    const index = (children: { digest: string; size: number; mediaType: string }[]): Buffer =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: children.map((c) => ({ ...c, platform: { architecture: 'amd64', os: 'linux' } })) }));
    const badIndex = index([{ digest: sha('absent'), size: 10, mediaType: MT.ociManifest }]);
    const bi = await call('PUT', `${base}/v2/man/app/manifests/idx`, { body: badIndex, headers: { 'Content-Type': MT.ociIndex } });
    assert.equal(bi.code(), 'MANIFEST_BLOB_UNKNOWN');
  });

  it('negotiates content: OCI and Docker types, indexes and manifest lists', async () => {
    const oci = await pushImage(base, 'neg/app', 'oci', { type: MT.ociManifest });
    const dock = await pushImage(base, 'neg/app', 'docker', { type: MT.dockerManifest });
    const get = (ref: string, accept?: string): Promise<Res> => call('GET', `${base}/v2/neg/app/manifests/${ref}`, { headers: accept ? { Accept: accept } : {} });
    assert.equal((await get('oci', MT.ociManifest)).headers.get('content-type'), MT.ociManifest);
    assert.equal((await get('oci', `${MT.dockerManifest};q=0.9, ${MT.ociManifest};q=0.5`)).status, 200);
    const refusedOci = await get('oci', MT.dockerManifest);
    assert.equal(refusedOci.status, 404);
    assert.equal(refusedOci.code(), 'MANIFEST_UNKNOWN');
    assert.equal((await get('docker', MT.dockerManifest)).headers.get('content-type'), MT.dockerManifest);
    assert.equal((await get('docker', MT.ociManifest)).status, 404);
    assert.equal((await get('docker')).status, 200, 'no Accept: the manifest as stored');
    // A Docker manifest list and an OCI index over them.
    for (const [type, tag, childType, child] of [
      [MT.dockerList, 'list', MT.dockerManifest, dock],
      [MT.ociIndex, 'index', MT.ociManifest, oci],
    ] as const) {
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: type,
          manifests: [
            { mediaType: childType, digest: child.digest, size: child.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
            { mediaType: childType, digest: child.digest, size: child.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
          ],
        }),
      );
      const put = await call('PUT', `${base}/v2/neg/app/manifests/${tag}`, { body, headers: { 'Content-Type': type } });
      assert.equal(put.status, 201, put.body.toString());
      const whole = await get(tag, ALL_TYPES);
      assert.equal(whole.headers.get('content-type'), type);
      assert.ok(whole.body.equals(body));
      assert.equal(whole.headers.get('docker-content-digest'), sha(body));
      // A client that reads no index gets the linux/amd64 image.
      const single = await get(tag, childType);
      assert.equal(single.status, 200);
      assert.equal(single.headers.get('content-type'), childType);
      assert.equal(single.headers.get('docker-content-digest'), child.digest);
      assert.ok(single.body.equals(child.manifest));
    }
    // The mediaType field must agree with Content-Type.
    const clash = await call('PUT', `${base}/v2/neg/app/manifests/clash`, { body: oci.manifest, headers: { 'Content-Type': MT.dockerManifest } });
    assert.equal(clash.code(), 'MANIFEST_INVALID');
  });

  it('lists tags with n/last pagination and a Link header', async () => {
    const img = await pushImage(base, 'tags/app', 't00');
    const tags = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    for (const t of tags.slice(1)) {
      assert.equal((await call('PUT', `${base}/v2/tags/app/manifests/${t}`, { body: img.manifest, headers: { 'Content-Type': MT.dockerManifest } })).status, 201);
    }
    const all = await call('GET', `${base}/v2/tags/app/tags/list`);
    assert.deepEqual(all.json(), { name: 'tags/app', tags });
    assert.equal(all.headers.get('link'), null);
    const seen: string[] = [];
    let next: string | undefined = '/v2/tags/app/tags/list?n=5';
    let pages = 0;
    while (next) {
      const r = await call('GET', base + next);
      assert.equal(r.status, 200);
      seen.push(...r.json<{ tags: string[] }>().tags);
      const link = r.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      pages++;
    }
    assert.deepEqual(seen, tags);
    assert.equal(pages, 3);
    assert.deepEqual((await call('GET', `${base}/v2/tags/app/tags/list?n=2&last=t05`)).json(), { name: 'tags/app', tags: ['t06', 't07'] });
    assert.deepEqual((await call('GET', `${base}/v2/tags/app/tags/list?n=0`)).json(), { name: 'tags/app', tags: [] });
    assert.equal((await call('GET', `${base}/v2/tags/app/tags/list?n=x`)).code(), 'PAGINATION_NUMBER_INVALID');
  });

  it('lists the catalog with the same pagination', async () => {
    const all = (await call('GET', `${base}/v2/_catalog`)).json<{ repositories: string[] }>().repositories;
    for (const r of ['mono', 'chunked/app', 'man/app', 'tags/app', 'mount/dst']) assert.ok(all.includes(r), r);
    assert.deepEqual(all, [...all].sort());
    const first = await call('GET', `${base}/v2/_catalog?n=2`);
    assert.deepEqual(first.json<{ repositories: string[] }>().repositories, all.slice(0, 2));
    assert.equal(first.headers.get('link'), `</v2/_catalog?last=${encodeURIComponent(all[1]!)}&n=2>; rel="next"`);
    const second = await call('GET', `${base}/v2/_catalog?n=2&last=${encodeURIComponent(all[1]!)}`);
    assert.deepEqual(second.json<{ repositories: string[] }>().repositories, all.slice(2, 4));
  });

  it('answers the referrers API with an OCI index, filtered by artifactType', async () => {
    const subject = await pushImage(base, 'ref/app', 'v1', { type: MT.ociManifest });
    const emptyCfg = await putBlob(base, 'ref/app', Buffer.from('{}'));
    const sbomBlob = await putBlob(base, 'ref/app', Buffer.from('{"sbom":true}'));
    const artifact = (type: string, blob: string): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.ociManifest,
          artifactType: type,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyCfg, size: 2 },
          layers: [{ mediaType: 'application/json', digest: blob, size: 13 }],
          subject: { mediaType: MT.ociManifest, digest: subject.digest, size: subject.manifest.length },
          annotations: { 'org.example.kind': type },
        }),
      );
    const sbom = artifact('application/vnd.example.sbom', sbomBlob);
    const sig = artifact('application/vnd.example.signature', sbomBlob);
    for (const a of [sbom, sig]) {
      const r = await call('PUT', `${base}/v2/ref/app/manifests/${sha(a)}`, { body: a, headers: { 'Content-Type': MT.ociManifest } });
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers.get('oci-subject'), subject.digest);
    }
    const all = await call('GET', `${base}/v2/ref/app/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-type'), MT.ociIndex);
    const idx = all.json<{ schemaVersion: number; mediaType: string; manifests: { digest: string; artifactType: string; size: number; annotations: Record<string, string> }[] }>();
    assert.equal(idx.schemaVersion, 2);
    assert.equal(idx.mediaType, MT.ociIndex);
    assert.deepEqual(idx.manifests.map((m) => m.digest).sort(), [sha(sbom), sha(sig)].sort());
    const one = idx.manifests.find((m) => m.digest === sha(sbom))!;
    assert.equal(one.artifactType, 'application/vnd.example.sbom');
    assert.equal(one.size, sbom.length);
    assert.deepEqual(one.annotations, { 'org.example.kind': 'application/vnd.example.sbom' });
    const filtered = await call('GET', `${base}/v2/ref/app/referrers/${subject.digest}?artifactType=application/vnd.example.signature`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(filtered.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest), [sha(sig)]);
    const none = await call('GET', `${base}/v2/ref/app/referrers/${sha('nothing points here')}`);
    assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
    // An image manifest's artifactType is its config's media type.
    const refs = await call('GET', `${base}/v2/ref/app/referrers/${sha(sbom)}`);
    assert.deepEqual(refs.json<{ manifests: unknown[] }>().manifests, []);
  });

  it('serves byte ranges of a blob (206, Content-Range) and refuses unsatisfiable ones (416)', async () => {
    const data = randomBytes(10_000);
    const d = await putBlob(base, 'range/app', data);
    const url = `${base}/v2/range/app/blobs/${d}`;
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=9000-', 9000, 9999],
      ['bytes=-10', 9990, 9999],
      ['bytes=9990-20000', 9990, 9999],
    ] as const) {
      const r = await call('GET', url, { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/10000`);
      assert.ok(r.body.equals(data.subarray(start, end + 1)), range);
    }
    const bad = await call('GET', url, { headers: { Range: 'bytes=10000-' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get('content-range'), 'bytes */10000');
    assert.equal((await call('GET', url)).headers.get('accept-ranges'), 'bytes');
  });

  it('deletes manifests by tag and digest, and blobs', async () => {
    const img = await pushImage(base, 'del/app', 'v1');
    await call('PUT', `${base}/v2/del/app/manifests/v2`, { body: img.manifest, headers: { 'Content-Type': MT.dockerManifest } });
    assert.equal((await call('DELETE', `${base}/v2/del/app/manifests/v2`)).status, 202);
    assert.equal((await call('GET', `${base}/v2/del/app/manifests/v2`)).code(), 'MANIFEST_UNKNOWN');
    assert.equal((await call('GET', `${base}/v2/del/app/manifests/v1`)).status, 200, 'the other tag stays');
    assert.equal((await call('DELETE', `${base}/v2/del/app/manifests/${img.digest}`)).status, 202);
    assert.equal((await call('GET', `${base}/v2/del/app/manifests/${img.digest}`)).code(), 'MANIFEST_UNKNOWN');
    assert.equal((await call('GET', `${base}/v2/del/app/manifests/v1`)).code(), 'MANIFEST_UNKNOWN', 'its tags went with it');
    assert.equal((await call('DELETE', `${base}/v2/del/app/manifests/${img.digest}`)).code(), 'MANIFEST_UNKNOWN');
    assert.equal((await call('DELETE', `${base}/v2/del/app/blobs/${sha(img.layer)}`)).status, 202);
    assert.equal((await call('HEAD', `${base}/v2/del/app/blobs/${sha(img.layer)}`)).status, 404);
    assert.equal((await call('DELETE', `${base}/v2/del/app/blobs/${sha(img.layer)}`)).code(), 'BLOB_UNKNOWN');
    assert.deepEqual((await call('GET', `${base}/v2/del/app/tags/list`)).json(), { name: 'del/app', tags: [] });
  });

  it('refuses every write in --read-only mode and still serves reads', async () => {
    const img = await pushImage(base, 'ro/app', 'v1');
    const ro = await Serve.start(path.join(tmp, 'main'), ['--read-only']);
    try {
      const g = await call('GET', `${ro.url}/v2/ro/app/manifests/v1`, { headers: { Accept: ALL_TYPES } });
      assert.equal(g.status, 200);
      assert.ok(g.body.equals(img.manifest));
      assert.equal((await call('GET', `${ro.url}/v2/ro/app/blobs/${sha(img.layer)}`)).status, 200);
      for (const [method, p] of [
        ['POST', '/v2/ro/app/blobs/uploads/'],
        ['PUT', '/v2/ro/app/manifests/v2'],
        ['DELETE', `/v2/ro/app/manifests/${img.digest}`],
        ['DELETE', `/v2/ro/app/blobs/${sha(img.layer)}`],
      ] as const) {
        const r = await call(method, ro.url + p, method === 'PUT' ? { body: img.manifest, headers: { 'Content-Type': MT.dockerManifest } } : {});
        assert.equal(r.status, 405, `${method} ${p}`);
        assert.equal(r.code(), 'UNSUPPORTED');
      }
    } finally {
      await ro.stop();
    }
  });

  it('applies a per-repository quota with DENIED (403)', async () => {
    const q = await Serve.start(path.join(tmp, 'quota'), ['--quota-per-repo', '10KiB']);
    try {
      await putBlob(q.url, 'q/one', randomBytes(6000));
      const over = randomBytes(6000);
      const mono = await call('POST', `${q.url}/v2/q/one/blobs/uploads/?digest=${sha(over)}`, { body: over });
      assert.equal(mono.status, 403);
      assert.equal(mono.code(), 'DENIED');
      assert.match(mono.json<{ errors: { message: string }[] }>().errors[0]!.message, /quota/);
      const post = await call('POST', `${q.url}/v2/q/one/blobs/uploads/`);
      const patch = await call('PATCH', q.url + post.headers.get('location')!, { body: over });
      assert.equal(patch.status, 403);
      assert.equal((await call('GET', q.url + post.headers.get('location')!)).headers.get('range'), '0-0', 'the refused chunk was not kept');
      assert.equal(existsSync(path.join(q.root, 'content/sha256', sha(over).slice(7))), false);
      // Another repository has its own quota; a blob it already holds costs nothing again.
      await putBlob(q.url, 'q/two', over);
      const again = await call('POST', `${q.url}/v2/q/two/blobs/uploads/?mount=${sha(over)}&from=q/two`);
      assert.equal(again.status, 201);
      const mount = await call('POST', `${q.url}/v2/q/one/blobs/uploads/?mount=${sha(over)}&from=q/two`);
      assert.equal(mount.status, 403, 'a mount counts against the quota too');
    } finally {
      await q.stop();
    }
  });

  it('expires abandoned uploads after the TTL, and limits uploads in progress (429)', async () => {
    const s = await Serve.start(path.join(tmp, 'ttl'), ['--upload-ttl', '1s', '--max-uploads', '2']);
    try {
      const a = await call('POST', `${s.url}/v2/ttl/app/blobs/uploads/`);
      await call('PATCH', s.url + a.headers.get('location')!, { body: 'some bytes' });
      const b = await call('POST', `${s.url}/v2/ttl/app/blobs/uploads/`);
      assert.equal(b.status, 202);
      const c = await call('POST', `${s.url}/v2/ttl/app/blobs/uploads/`);
      assert.equal(c.status, 429);
      assert.equal(c.code(), 'TOOMANYREQUESTS');
      // The TTL is 1 s: the abandoned upload goes (how soon after is the server's business, not the test's).
      const r = await waitFor(async () => {
        const got = await call('GET', s.url + a.headers.get('location')!);
        return got.status === 404 ? got : undefined;
      }, 'the abandoned upload to expire');
      assert.equal(r.code(), 'BLOB_UPLOAD_UNKNOWN');
      // The periodic sweep removes them from disk too.
      await waitFor(async () => (await filesUnder(path.join(s.root, 'uploads'))).length === 0, 'the expired uploads to be removed from disk');
      assert.equal((await call('POST', `${s.url}/v2/ttl/app/blobs/uploads/`)).status, 202);
    } finally {
      await s.stop();
    }
  });

  it('gc: --dry-run deletes nothing, a real run deletes only unreferenced blobs, --delete-untagged drops untagged manifests', async () => {
    const root = path.join(tmp, 'gc');
    let s = await Serve.start(root);
    const tagged = await pushImage(s.url, 'gc/app', 'v1');
    const untagged = await pushImage(s.url, 'gc/app', undefined);
    const orphan = randomBytes(3333);
    await putBlob(s.url, 'gc/app', orphan);
    // A tagged index whose child is pushed by digest only, and a referrer of the tagged image: both stay.
    const child = await pushImage(s.url, 'gc/multi', undefined, { type: MT.ociManifest });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: child.digest, size: child.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }] }));
    assert.equal((await call('PUT', `${s.url}/v2/gc/multi/manifests/v1`, { body: index, headers: { 'Content-Type': MT.ociIndex } })).status, 201);
    const referrer = await pushImage(s.url, 'gc/app', undefined, { type: MT.ociManifest, extra: { subject: { mediaType: MT.dockerManifest, digest: tagged.digest, size: tagged.manifest.length } } });
    // A writable server on the root: gc refuses to sweep beside it.
    const busy = await runCmd([process.execPath, CLI, 'registry', 'gc', '--root', root]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /stop it or restart it with --read-only/);
    await s.stop();
    const blobs = async (): Promise<string[]> => (await fs.readdir(path.join(root, 'content/sha256'))).sort();
    const before = await blobs();
    const dry = await runCmd([process.execPath, CLI, 'registry', 'gc', '--root', root, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would delete blob ${sha(orphan)} \\(3333 bytes\\)`));
    assert.match(dry.stdout, /1 blobs and 0 manifests would be deleted, 3333 bytes \(3\.33kB\) would be freed/);
    assert.deepEqual(await blobs(), before, 'a dry run deletes nothing');
    const real = await runCmd([process.execPath, CLI, 'registry', 'gc', '--root', root]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, new RegExp(`deleting blob ${sha(orphan)}`));
    assert.match(real.stdout, /1 blobs and 0 manifests deleted, 3333 bytes \(3\.33kB\) freed/);
    assert.deepEqual(await blobs(), before.filter((h) => h !== sha(orphan).slice(7)));
    const untaggedRun = await runCmd([process.execPath, CLI, 'registry', 'gc', '--root', root, '--delete-untagged']);
    assert.equal(untaggedRun.code, 0, untaggedRun.stderr);
    assert.match(untaggedRun.stdout, new RegExp(`deleting manifest gc/app@${untagged.digest} \\(untagged\\)`));
    const left = await blobs();
    for (const b of [tagged.config, tagged.layer, tagged.manifest]) assert.ok(left.includes(sha(b).slice(7)), 'the tagged image is whole');
    for (const b of [index, child.manifest, child.config, child.layer]) assert.ok(left.includes(sha(b).slice(7)), 'the tagged index and its untagged child stay');
    for (const b of [referrer.manifest, referrer.layer]) assert.ok(left.includes(sha(b).slice(7)), 'a referrer of a tagged image stays');
    for (const b of [untagged.config, untagged.layer, untagged.manifest]) assert.ok(!left.includes(sha(b).slice(7)), 'the untagged image is gone');
    // The server on the collected root serves the tagged image and nothing else.
    s = await Serve.start(root);
    try {
      assert.equal((await call('GET', `${s.url}/v2/gc/app/manifests/v1`, { headers: { Accept: ALL_TYPES } })).status, 200);
      for (const b of [tagged.config, tagged.layer]) assert.ok((await call('GET', `${s.url}/v2/gc/app/blobs/${sha(b)}`)).body.equals(b));
      assert.equal((await call('HEAD', `${s.url}/v2/gc/app/blobs/${sha(orphan)}`)).status, 404);
      assert.equal((await call('GET', `${s.url}/v2/gc/app/manifests/${untagged.digest}`)).code(), 'MANIFEST_UNKNOWN');
    } finally {
      await s.stop();
    }
  });

  it('basic auth from an htpasswd file (bcrypt)', async () => {
    const htpasswd = path.join(tmp, 'htpasswd');
    await fs.writeFile(htpasswd, `alice:${bcrypt.hashSync('wonderland', 10).replace('$2b$', '$2y$')}\n`);
    const s = await Serve.start(path.join(tmp, 'basic'), ['--htpasswd', htpasswd, '--realm', 'test realm']);
    try {
      const anon = await call('GET', `${s.url}/v2/`);
      assert.equal(anon.status, 401);
      assert.equal(anon.code(), 'UNAUTHORIZED');
      assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="test realm"');
      const basic = (u: string, p: string): Record<string, string> => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
      const wrong = await call('GET', `${s.url}/v2/`, { headers: basic('alice', 'nope') });
      assert.equal(wrong.status, 401);
      assert.equal((await call('GET', `${s.url}/v2/`, { headers: basic('mallory', 'wonderland') })).status, 401);
      assert.equal((await call('GET', `${s.url}/v2/`, { headers: basic('alice', 'wonderland') })).status, 200);
      assert.equal((await call('POST', `${s.url}/v2/auth/app/blobs/uploads/?digest=${sha('x')}`, { body: 'x' })).status, 401);
      const img = await pushImage(s.url, 'auth/app', 'v1', { headers: basic('alice', 'wonderland') });
      assert.equal((await call('GET', `${s.url}/v2/auth/app/manifests/v1`, { headers: { ...basic('alice', 'wonderland'), Accept: ALL_TYPES } })).body.toString(), img.manifest.toString());
      assert.equal((await call('GET', `${s.url}/v2/_catalog`)).status, 401);
    } finally {
      await s.stop();
    }
  });

  it('token auth: Bearer challenge → token endpoint → access; a pull-only token is refused on push', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = path.join(tmp, 'token-key.pem');
    await fs.writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const htpasswd = path.join(tmp, 'htpasswd-token');
    await fs.writeFile(htpasswd, `alice:${bcrypt.hashSync('a-pass', 10)}\nbob:${bcrypt.hashSync('b-pass', 10)}\n`);
    const acl = path.join(tmp, 'acl');
    await fs.writeFile(acl, '# who  repositories  actions\nalice  *  *\nbob  team/*  pull\n');
    const s = await Serve.start(path.join(tmp, 'token'), ['--htpasswd', htpasswd, '--token-issue', '--token-key', keyFile, '--token-issuer', 'berth-test-issuer', '--token-service', 'berth-test', '--token-acl', acl]);
    const basic = (u: string, p: string): Record<string, string> => ({ Authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
    /** What a client does: read the challenge, ask the realm for a token with the scope, retry. */
    const token = async (challenge: string, creds: Record<string, string>): Promise<string> => {
      const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      const u = new URL(params.realm!);
      u.searchParams.set('service', params.service!);
      u.searchParams.set('scope', params.scope!);
      const r = await call('GET', u.toString(), { headers: creds });
      assert.equal(r.status, 200, r.body.toString());
      const t = r.json<{ token: string; access_token: string; expires_in: number }>();
      assert.equal(t.token, t.access_token);
      assert.ok(t.expires_in > 0);
      return t.token;
    };
    try {
      const first = await call('POST', `${s.url}/v2/team/app/blobs/uploads/`);
      assert.equal(first.status, 401);
      assert.equal(first.code(), 'UNAUTHORIZED');
      const challenge = first.headers.get('www-authenticate')!;
      assert.equal(challenge, `Bearer realm="${s.url}/token",service="berth-test",scope="repository:team/app:pull,push"`);
      const alice = await token(challenge, basic('alice', 'a-pass'));
      const bearer = (t: string): Record<string, string> => ({ Authorization: `Bearer ${t}` });
      const img = await pushImage(s.url, 'team/app', 'v1', { headers: bearer(alice) });
      // bob may pull team/*, not push.
      const pullChallenge = (await call('GET', `${s.url}/v2/team/app/manifests/v1`)).headers.get('www-authenticate')!;
      assert.match(pullChallenge, /scope="repository:team\/app:pull"$/);
      const bobPull = await token(pullChallenge, basic('bob', 'b-pass'));
      const got = await call('GET', `${s.url}/v2/team/app/manifests/v1`, { headers: { ...bearer(bobPull), Accept: ALL_TYPES } });
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(img.manifest));
      const bobPush = await token(challenge, basic('bob', 'b-pass'));
      const refused = await call('POST', `${s.url}/v2/team/app/blobs/uploads/`, { headers: bearer(bobPush) });
      assert.equal(refused.status, 401);
      assert.equal(refused.code(), 'UNAUTHORIZED');
      assert.match(refused.headers.get('www-authenticate')!, /error="insufficient_scope"/);
      // A token for another repository, a forged token, bad credentials at the endpoint, no token.
      const otherRepo = await call('GET', `${s.url}/v2/other/app/tags/list`, { headers: bearer(bobPull) });
      assert.equal(otherRepo.status, 401);
      const { SignJWT } = await import('jose');
      const forged = await new SignJWT({ access: [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }] })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('berth-test-issuer')
        .setAudience('berth-test')
        .setExpirationTime('5m')
        .sign(otherKey);
      const f = await call('GET', `${s.url}/v2/team/app/tags/list`, { headers: bearer(forged) });
      assert.equal(f.status, 401);
      assert.match(f.headers.get('www-authenticate')!, /error="invalid_token"/);
      const badCreds = await call('GET', `${s.url}/token?service=berth-test&scope=repository:team/app:pull`, { headers: basic('bob', 'wrong') });
      assert.equal(badCreds.status, 401);
      assert.equal((await call('GET', `${s.url}/v2/`)).status, 401);
      // An anonymous token carries no access.
      const anon = await call('GET', `${s.url}/token?service=berth-test&scope=repository:team/app:pull`);
      assert.equal((await call('GET', `${s.url}/v2/team/app/tags/list`, { headers: bearer(anon.json<{ token: string }>().token) })).status, 401);
      // A real client runs the whole flow: skopeo copies with alice's credentials.
      const dir = path.join(tmp, 'token-oci');
      const out = await runCmd([SKOPEO, 'copy', '--src-tls-verify=false', '--src-creds', 'alice:a-pass', `docker://${s.host}/team/app:v1`, `oci:${dir}:v1`]);
      assert.equal(out.code, 0, out.stderr);
      const denied = await runCmd([SKOPEO, 'copy', '--dest-tls-verify=false', '--dest-creds', 'bob:b-pass', `oci:${dir}:v1`, `docker://${s.host}/team/app:bob`]);
      assert.notEqual(denied.code, 0, 'bob cannot push');
    } finally {
      await s.stop();
    }
  });

  it('serves TLS from a given certificate and key', async () => {
    const cert = path.join(tmp, 'tls.crt');
    const key = path.join(tmp, 'tls.key');
    const gen = await runCmd(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert]);
    assert.equal(gen.code, 0, gen.stderr);
    const s = await Serve.start(path.join(tmp, 'tls'), ['--tls-cert', cert, '--tls-key', key]);
    try {
      assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await fs.readFile(cert);
      const res = await new Promise<{ status: number; version: string | undefined }>((resolve, reject) => {
        https.get(`${s.url}/v2/`, { ca }, (r) => {
          r.resume();
          resolve({ status: r.statusCode!, version: r.headers['docker-distribution-api-version'] as string | undefined });
        }).on('error', reject);
      });
      assert.deepEqual(res, { status: 200, version: 'registry/2.0' });
      // An untrusted certificate is refused by a verifying client.
      await assert.rejects(new Promise((resolve, reject) => https.get(`${s.url}/v2/`, resolve).on('error', reject)));
      const certDir = path.join(tmp, 'certs.d');
      await fs.mkdir(certDir, { recursive: true });
      await fs.copyFile(cert, path.join(certDir, 'ca.crt'));
      const push = await runCmd([SKOPEO, 'copy', '--dest-cert-dir', certDir, `docker-archive:${path.join(REPO, 'test/fixtures/docker20-save-tiny.tar')}`, `docker://${s.host}/tls/tiny:v1`]);
      assert.equal(push.code, 0, push.stderr);
    } finally {
      await s.stop();
    }
  });
});

// ---- real peers ----

/** A private dockerd with no bridge network at all (push/pull/load need none) and iptables left alone. */
class RegistryTestDockerd {
  private constructor(
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  static async start(): Promise<RegistryTestDockerd> {
    const dir = await fs.mkdtemp('/tmp/bd-reg-');
    const ns = `bdreg${path.basename(dir).slice(-6)}`;
    enterDockerd();
    const child = spawn(
      DOCKERD,
      ['--host', `unix://${dir}/docker.sock`, '--data-root', `${dir}/data`, '--exec-root', `${dir}/exec`, '--pidfile', `${dir}/docker.pid`, '--bridge', 'none', '--iptables=false', '--ip-masq=false', '--containerd-namespace', ns, '--containerd-plugins-namespace', `${ns}p`],
      { stdio: 'ignore' },
    );
    const d = new RegistryTestDockerd(child, dir);
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error('dockerd exited early');
      return ping(`${dir}/docker.sock`);
    }, 'the private dockerd to answer');
    return d;
  }

  docker(args: string[]): Promise<RunResult> {
    return runCmd([DOCKER_CLI, ...args], { env: { DOCKER_HOST: `unix://${this.dir}/docker.sock`, DOCKER_CONFIG: path.join(this.dir, 'cfg') }, timeoutMs: 120_000 });
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(15_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await runCmd(['sh', '-c', `grep -o ' ${this.dir}[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l`]);
    await fs.rm(this.dir, { recursive: true, force: true });
    await leaveDockerd();
  }
}

describe('registry server with real peers', () => {
  let tmp: string;
  let srv: Serve;
  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-registry-peers-'));
    srv = await Serve.start(path.join(tmp, 'root'));
  });
  after(async () => {
    await srv?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('dockerd pushes to it and pulls from it, with the same digest and image ID', async () => {
    const d = await RegistryTestDockerd.start();
    try {
      const tar = await busyboxTar();
      const name = `${srv.host}/dock/busybox:1`;
      const imp = await d.docker(['import', '-c', 'CMD ["sh"]', tar, name]);
      assert.equal(imp.code, 0, imp.stderr);
      const id = imp.stdout.trim();
      const push = await d.docker(['push', name]);
      assert.equal(push.code, 0, push.stderr);
      const digest = /1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout);
      assert.ok(digest, push.stdout);
      const m = await call('GET', `${srv.url}/v2/dock/busybox/manifests/1`, { headers: { Accept: ALL_TYPES } });
      assert.equal(m.headers.get('docker-content-digest'), digest[1]);
      assert.equal(m.headers.get('content-type'), MT.dockerManifest);
      assert.equal(m.body.length, Number(digest[2]));
      // A second push finds every layer there.
      assert.match((await d.docker(['push', name])).stdout, /Layer already exists/);
      // Into another repository: mounted from the first.
      const other = `${srv.host}/dock/copy:1`;
      await d.docker(['tag', name, other]);
      const mounted = await d.docker(['push', other]);
      assert.equal(mounted.code, 0, mounted.stderr);
      assert.match(mounted.stdout, /Mounted from dock\/busybox|Layer already exists/);
      assert.equal((await d.docker(['rmi', name, other])).code, 0);
      const pull = await d.docker(['pull', name]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.match(pull.stdout, new RegExp(`Digest: ${digest[1]}`));
      assert.equal((await d.docker(['image', 'inspect', '-f', '{{.Id}}', name])).stdout.trim(), id);
      assert.equal((await d.docker(['pull', `${srv.host}/dock/busybox@${digest[1]}`])).code, 0, 'pull by digest');
      const missing = await d.docker(['pull', `${srv.host}/dock/busybox:nope`]);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /manifest unknown/);
    } finally {
      await d.stop();
    }
  });

  it('berth and dockerd exchange an image through it, digests kept both ways', async () => {
    const b = await TestDaemon.start();
    const d = await RegistryTestDockerd.start();
    try {
      await b.importBusybox();
      const name = `${srv.host}/mixed/busybox:b`;
      assert.equal((await b.berth(['tag', 'busybox', name])).code, 0);
      const push = await b.berth(['push', name]);
      assert.equal(push.code, 0, push.stderr);
      const pushed = /b: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
      assert.ok(pushed, push.stdout);
      const dp = await d.docker(['pull', name]);
      assert.equal(dp.code, 0, dp.stderr);
      assert.match(dp.stdout, new RegExp(`Digest: ${pushed}`));
      // dockerd pushes it under another tag: the same manifest, so the same digest; berth pulls that.
      const other = `${srv.host}/mixed/busybox:d`;
      await d.docker(['tag', name, other]);
      const dpush = await d.docker(['push', other]);
      assert.equal(dpush.code, 0, dpush.stderr);
      assert.match(dpush.stdout, new RegExp(`d: digest: ${pushed}`));
      assert.equal((await b.berth(['rmi', name])).code, 0);
      const bp = await b.berth(['pull', other]);
      assert.equal(bp.code, 0, bp.stderr);
      assert.match(bp.stdout, new RegExp(`Digest: ${pushed}`));
      const run = await b.berth(['run', '--rm', other, 'echo', 'through berth registry']);
      assert.equal(run.stdout, 'through berth registry\n', run.stderr);
    } finally {
      await d.stop();
      await b.cleanup();
    }
  });

  it('skopeo copies to it and from it (OCI layout both ways)', async () => {
    const fixture = path.join(REPO, 'test/fixtures/docker20-save-tiny.tar');
    const up = await runCmd([SKOPEO, 'copy', '--dest-tls-verify=false', `docker-archive:${fixture}`, `docker://${srv.host}/sk/tiny:v1`]);
    assert.equal(up.code, 0, up.stderr);
    const oci = path.join(tmp, 'oci');
    const down = await runCmd([SKOPEO, 'copy', '--src-tls-verify=false', `docker://${srv.host}/sk/tiny:v1`, `oci:${oci}:v1`]);
    assert.equal(down.code, 0, down.stderr);
    const index = JSON.parse(await fs.readFile(path.join(oci, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const ociDigest = index.manifests[0]!.digest;
    const back = await runCmd([SKOPEO, 'copy', '--dest-tls-verify=false', `oci:${oci}:v1`, `docker://${srv.host}/sk/oci:v1`]);
    assert.equal(back.code, 0, back.stderr);
    const got = await call('GET', `${srv.url}/v2/sk/oci/manifests/v1`, { headers: { Accept: ALL_TYPES } });
    assert.equal(got.headers.get('content-type'), MT.ociManifest);
    assert.equal(got.headers.get('docker-content-digest'), ociDigest, 'the OCI manifest kept its digest on the way back');
    const inspect = await runCmd([SKOPEO, 'inspect', '--tls-verify=false', `docker://${srv.host}/sk/oci:v1`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { Digest: string }).Digest, ociDigest);
    const tags = await runCmd([SKOPEO, 'list-tags', '--tls-verify=false', `docker://${srv.host}/sk/tiny`]);
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
    // skopeo delete: the manifest by digest.
    const del = await runCmd([SKOPEO, 'delete', '--tls-verify=false', `docker://${srv.host}/sk/oci@${ociDigest}`]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal((await call('GET', `${srv.url}/v2/sk/oci/manifests/v1`, { headers: { Accept: ALL_TYPES } })).code(), 'MANIFEST_UNKNOWN');
  });
});
