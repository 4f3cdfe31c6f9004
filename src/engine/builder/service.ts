// The build service: receive a context (a tar, plain or compressed, as `docker build` sends it), apply its
// .dockerignore, find the Dockerfile, run the builder, and clean up the context whatever happens.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { JSONMessage } from '../../api/types.js';
import { InvalidParameter } from '../../lib/errors.js';
import { dockerignore } from '../../lib/dockerignore.js';
import { spreadSubfolders } from '../../lib/fsutil.js';
import { startProcess } from '../../lib/exec.js';
import { decompressed } from '../snapshots/layers.js';
import { Builder, type BuilderDeps, type BuildSettings } from './builder.js';
import type { BuildPruneOptions, BuildPruneReport } from './cache.js';
import type { BuildCacheUsage } from '../housekeeping.js';
import { ContextStore } from './contexts.js';
import type { DigestCache } from './executors/digests.js';

export interface BuildRequest extends BuildSettings {
  /** The Dockerfile's name in the context. */
  dockerfile: string;
  /** A context sync session (berth's CLI): the body holds only the entries berthd lacked. */
  contextSession?: string;
}

export class BuildService {
  readonly builder: Builder;
  readonly contexts: ContextStore;

  constructor(private readonly d: BuilderDeps) {
    this.builder = new Builder(d);
    this.contexts = new ContextStore(path.join(d.root, 'build', 'contexts'));
    this.builder.cache.sources = this.contexts;
  }

  async init(): Promise<void> {
    // Contexts and snapshots of builds a crash interrupted.
    // Start-up recovery has unmounted what a crash left mounted there; should a removal still fail,
    // the build goes on without this clean-up rather than keeping berthd from starting.
    await fs.rm(path.join(this.d.root, 'build', 'tmp'), { recursive: true, force: true }).catch(() => undefined);
    // Steps' folders are made there and removed by the hundred: new ones go to emptier block groups.
    await fs.mkdir(path.join(this.d.root, 'build', 'tmp'), { recursive: true });
    spreadSubfolders(path.join(this.d.root, 'build', 'tmp'));
    await this.contexts.init();
    for (const { key } of await this.d.snapshotter.walk()) if (key.startsWith('build-')) await this.d.snapshotter.remove(key).catch(() => undefined);
  }

  async build(context: Readable, req: BuildRequest, progress: (m: JSONMessage) => void): Promise<string> {
    if (req.contextSession) {
      // The kept copy already has .dockerignore applied (by the client, which listed only what it keeps).
      return this.contexts.use(req.contextSession, context, extractContext, async (dir, digests, ready, dockerfile, key) => {
        let text = dockerfile;
        if (text === undefined) {
          await ready;
          text = await readDockerfile(dir, req);
        }
        return this.builder.build({ ...req, contextDir: dir, contextDigests: digests, contextReady: ready, contextKey: key, dockerfile: text, dockerfileName: req.dockerfile || 'Dockerfile', progress });
      });
    }
    const dir = path.join(this.d.root, 'build', 'tmp', 'ctx-' + randomBytes(8).toString('hex'));
    await fs.mkdir(dir, { recursive: true });
    try {
      await extractContext(context, dir);
      const dockerfile = await readDockerfile(dir, req); // sent even when .dockerignore names it
      await applyDockerignore(dir);
      return await this.buildIn(dir, dockerfile, req, progress);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private buildIn(dir: string, dockerfile: string, req: BuildRequest, progress: (m: JSONMessage) => void, contextDigests?: DigestCache): Promise<string> {
    return this.builder.build({ ...req, contextDir: dir, contextDigests, dockerfile, dockerfileName: req.dockerfile || 'Dockerfile', progress });
  }

  /** `builder prune`: the cache entries the options select go, then the layers only they kept (cache.ts). */
  prune(opts: BuildPruneOptions = {}): Promise<BuildPruneReport> {
    return this.builder.cache.prune(opts);
  }

  /** The build cache in `system df` (housekeeping's build hook). */
  diskUsage(): Promise<BuildCacheUsage[]> {
    return this.builder.cache.usage();
  }
}

async function readDockerfile(dir: string, req: BuildRequest): Promise<string> {
  const name = req.dockerfile || 'Dockerfile';
  return fs.readFile(path.join(dir, path.posix.normalize('/' + name)), 'utf8').catch(() => {
    throw new InvalidParameter(`Cannot locate specified Dockerfile: ${name}`);
  });
}

async function extractContext(src: Readable, dir: string): Promise<void> {
  const argv = ['tar', '-x', '--no-same-owner', '-C', dir];
  const tar = startProcess(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  tar.stderr!.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<number>((r) => tar.on('close', (c) => r(c ?? 1)));
  tar.stdin!.on('error', () => undefined);
  try {
    for await (const chunk of decompressed(src)) {
      if (!tar.stdin!.write(chunk)) await new Promise((r) => tar.stdin!.once('drain', r));
    }
  } finally {
    tar.stdin!.end();
  }
  const code = await exited;
  // An empty body is an empty context (docker build - < Dockerfile sends the Dockerfile alone: handled by the CLI).
  if (code !== 0 && !/does not look like a tar archive|Unexpected EOF/.test(stderr)) throw new InvalidParameter(`invalid build context: ${stderr.trim()}`);
}

/** Delete what .dockerignore excludes, so no step can copy it. */
async function applyDockerignore(dir: string): Promise<void> {
  const rules = await fs.readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => undefined);
  if (!rules) return;
  const ignored = await dockerignore(rules);
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
