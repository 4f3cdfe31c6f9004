// The build service: receive a context (a tar, plain or compressed, as `docker build` sends it), apply its
// .dockerignore, find the Dockerfile, run the builder, and clean up the context whatever happens.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { JSONMessage } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { dockerignore } from '../../lib/dockerignore.js';
import { decompressed } from '../snapshots/layers.js';
import { Builder, type BuilderDeps } from './builder.js';

export interface BuildRequest {
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  secrets?: Record<string, Buffer>;
  noCacheFilter?: string[];
}

export class BuildService {
  readonly builder: Builder;

  constructor(private readonly d: BuilderDeps) {
    this.builder = new Builder(d);
  }

  async init(): Promise<void> {
    // Contexts and snapshots of builds a crash interrupted.
    await fs.rm(path.join(this.d.root, 'build', 'tmp'), { recursive: true, force: true });
    for (const key of await this.d.snapshotter.keys()) if (key.startsWith('build-')) await this.d.snapshotter.remove(key);
  }

  async build(context: Readable, req: BuildRequest, progress: (m: JSONMessage) => void): Promise<string> {
    const dir = path.join(this.d.root, 'build', 'tmp', 'ctx-' + randomBytes(8).toString('hex'));
    await fs.mkdir(dir, { recursive: true });
    try {
      await extractContext(context, dir);
      const name = req.dockerfile || 'Dockerfile';
      const dfPath = path.join(dir, path.posix.normalize('/' + name));
      const text = await fs.readFile(dfPath, 'utf8').catch(() => {
        throw new InvalidParameter(`Cannot locate specified Dockerfile: ${name}`);
      });
      await applyDockerignore(dir);
      return await this.builder.build({ ...req, contextDir: dir, dockerfile: text, dockerfileName: name, progress });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** `builder prune`: forget every cached step (their layers go with the next image GC). */
  async prune(): Promise<{ CachesDeleted: string[]; SpaceReclaimed: number }> {
    const dir = path.join(this.d.root, 'build', 'cache');
    const keys = (await fs.readdir(dir).catch(() => [] as string[])).map((f) => f.replace(/\.json$/, ''));
    await fs.rm(dir, { recursive: true, force: true });
    await this.d.images.collectGarbage();
    return { CachesDeleted: keys, SpaceReclaimed: 0 };
  }
}

async function extractContext(src: Readable, dir: string): Promise<void> {
  const argv = ['tar', '-x', '--no-same-owner', '-C', dir];
  const tar = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number>((r) => tar.on('close', (c) => r(c ?? 1)));
  tar.stdin.on('error', () => undefined);
  try {
    for await (const chunk of decompressed(src)) {
      if (!tar.stdin.write(chunk)) await new Promise((r) => tar.stdin.once('drain', r));
    }
  } finally {
    tar.stdin.end();
  }
  const code = await exited;
  // An empty body is an empty context (docker build - < Dockerfile sends the Dockerfile alone: handled by the CLI).
  if (code !== 0 && !/does not look like a tar archive|Unexpected EOF/.test(stderr)) throw new InvalidParameter(`invalid build context: ${stderr.trim()}`);
}

/** Delete what .dockerignore excludes, so no step can copy it. */
async function applyDockerignore(dir: string): Promise<void> {
  const rules = await fs.readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => undefined);
  if (!rules) return;
  const ignored = dockerignore(rules);
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (ignored(p)) {
        // A directory may hold exceptions ("!dir/keep"): look inside before removing it.
        if (e.isDirectory()) {
          await walk(p);
          if (!(await fs.readdir(path.join(dir, p))).length) await fs.rmdir(path.join(dir, p));
        } else await fs.rm(path.join(dir, p), { force: true });
      } else if (e.isDirectory()) await walk(p);
    }
  };
  await walk('');
}
