// A small, deliberately misbehaving registry for fault tests: it serves one image and can corrupt a blob,
// drop the connection halfway through a blob (then honour Range to resume), or demand Bearer tokens from
// its own token endpoint (basic credentials user/secret). Listens on 127.0.0.1 only.
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { tarOf } from './harness.js';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

export interface FakeImage {
  repo: string;
  tag: string;
  manifest: Buffer;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  blobs: Map<string, Buffer>;
}

/** One image: a gzip layer with /hello.txt and 512 KiB of random bytes (so a drop can happen midway). */
export async function fakeImage(repo: string, tag: string, compression: 'gzip' | 'zstd' = 'gzip'): Promise<FakeImage> {
  const tar = await tarOf([
    ['hello.txt', 'hi from the fake registry\n'],
    ['noise.bin', randomBytes(512 * 1024).toString('latin1')],
  ]);
  const layer = compression === 'gzip' ? gzipSync(tar) : spawnSync('zstd', ['-q', '-c'], { input: tar }).stdout;
  const layerType = compression === 'gzip' ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+zstd';
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['cat', '/hello.txt'] }, rootfs: { type: 'layers', diff_ids: [sha(tar)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
      layers: [{ mediaType: layerType, size: layer.length, digest: sha(layer) }],
    }),
  );
  return {
    repo,
    tag,
    manifest,
    manifestDigest: sha(manifest),
    configDigest: sha(config),
    layerDigest: sha(layer),
    blobs: new Map([
      [sha(config), config],
      [sha(layer), layer],
    ]),
  };
}

export interface FaultModes {
  /** Serve the layer with one byte changed (its digest no longer matches). */
  corruptLayer?: boolean;
  /** The first GET of the layer stops halfway and the connection is destroyed. */
  dropLayerOnce?: boolean;
  /** Require Bearer tokens, issued by /token to these basic credentials. */
  auth?: { user: string; pass: string };
  /** Serve the tag as an OCI index with the image under linux/amd64 and a bogus linux/arm64 entry. */
  index?: boolean;
}

export class FakeRegistry {
  private server?: http.Server;
  port = 0;
  layerGets = 0;
  rangeGets = 0;
  private dropped = false;
  private readonly token = randomBytes(8).toString('hex');

  constructor(
    private readonly image: FakeImage,
    readonly modes: FaultModes = {},
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url!, 'http://x');
    const a = this.modes.auth;
    if (url.pathname === '/token') {
      const expected = 'Basic ' + Buffer.from(`${a?.user}:${a?.pass}`).toString('base64');
      if (req.headers.authorization !== expected) return this.error(res, 401, 'UNAUTHORIZED', 'bad credentials');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end(JSON.stringify({ token: this.token }));
    }
    if (a && req.headers.authorization !== `Bearer ${this.token}`) {
      res.setHeader('WWW-Authenticate', `Bearer realm="http://127.0.0.1:${this.port}/token",service="fake",scope="repository:${this.image.repo}:pull"`);
      return this.error(res, 401, 'UNAUTHORIZED', 'authentication required');
    }
    if (url.pathname === '/v2/') return void res.end('{}');
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m || m[1] !== this.image.repo) return this.error(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    if (m[2] === 'manifests') {
      if (this.modes.index && m[3] === this.image.tag) {
        const index = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: [
              { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: 'sha256:' + 'a'.repeat(64), size: 100, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
              { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: this.image.manifestDigest, size: this.image.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
            ],
          }),
        );
        res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Docker-Content-Digest': sha(index) });
        return void res.end(req.method === 'HEAD' ? undefined : index);
      }
      if (m[3] !== this.image.tag && m[3] !== this.image.manifestDigest) return this.error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Docker-Content-Digest': this.image.manifestDigest });
      return void res.end(req.method === 'HEAD' ? undefined : this.image.manifest);
    }
    let blob = this.image.blobs.get(m[3]!);
    if (!blob) return this.error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    if (m[3] === this.image.layerDigest) {
      this.layerGets++;
      if (this.modes.corruptLayer) {
        blob = Buffer.from(blob);
        blob[blob.length >> 1] ^= 0xff;
      }
      if (this.modes.dropLayerOnce && !this.dropped) {
        this.dropped = true;
        res.writeHead(200, { 'Content-Length': blob.length });
        res.write(blob.subarray(0, blob.length >> 1), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      this.rangeGets++;
      const start = Number(range[1]);
      res.writeHead(206, { 'Content-Length': blob.length - start, 'Content-Range': `bytes ${start}-${blob.length - 1}/${blob.length}` });
      return void res.end(blob.subarray(start));
    }
    res.writeHead(200, { 'Content-Length': blob.length, 'Docker-Content-Digest': m[3]! });
    res.end(req.method === 'HEAD' ? undefined : blob);
  }
}
