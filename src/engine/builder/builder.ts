// The builder (the solver side): a parsed Dockerfile becomes stages; the stages the target needs run
// concurrently (a stage waits only for the stages it names in FROM or COPY --from); each instruction
// moves a stage's state (image config + layers) forward. Every step has a cache key made from its
// parent's key, the instruction as expanded, the build args it sees and, for COPY/ADD, the content of its
// sources; a hit reuses the step's result without doing any work.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ContainerRecord } from '../containers/record.js';
import type { HostConfig, JSONMessage } from '../../api/types.js';
import { InvalidParameter, NotFound } from '../../lib/errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../../lib/fsutil.js';
import { applyChanges } from '../images/changes.js';
import { familiarString, normalizedString, parseImageReference } from '../../image-spec/reference.js';
import { hostArch, type ImagesService, type OciImageConfig } from '../images/service.js';
import type { LayerRef } from '../images/store.js';
import type { NetworksService } from '../networks/service.js';
import type { DistributionService } from '../distribution/service.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import { chainId, chainIds } from '../snapshots/layers.js';
import { buildSpec } from '../runtime/spec.js';
import { resolveUser } from '../runtime/user.js';
import { containerFiles, writeContainerFiles } from '../containers/files.js';
import { commitUpper } from './layerdiff.js';
import { BuildCache } from './cache.js';
import { BuildVertices, type ProgressMode, type StepVertex } from './progress.js';
import { parseRunMount, prepareRunMounts, removeMountPoints } from './run-mounts.js';
import { copyFiles, ensureDir, expandSource, hashSources, type DigestCache, type HardLinks } from './copy.js';
import { secureJoin } from '../../lib/securejoin.js';
import { expandString, expandWords, parseDockerfile, parseKeyValues, substituteVars, type Env, type Instruction } from './dockerfile.js';

/** What the user asked of a build (`docker build`'s flags), as the API carries them. */
export interface BuildSettings {
  tags: string[];
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  /** --secret id=…: contents by id, mounted by RUN --mount=type=secret (never stored). */
  secrets?: Record<string, Buffer>;
  /** --no-cache-filter: stages (by name) that run without the cache. */
  noCacheFilter?: string[];
  /** --cache-from: only cached steps in these images' history are hits (none at all when none exists). */
  cacheFrom?: string[];
  /** --platform: only this host's linux/<arch> (checked, with FROM --platform, before anything runs). */
  platform?: string;
  /** --network: RUN's network when it names none or "default" (default, bridge, none, host, or a user-defined network). */
  networkMode?: string;
  /** --add-host: "name:address" lines added to RUN's /etc/hosts. */
  extraHosts?: string[];
  /** classic: the legacy builder's lines (what the docker CLI gets); vertex: one vertex per step (progress.ts). */
  progressMode?: ProgressMode;
}

export interface BuildOptions extends BuildSettings {
  contextDir: string;
  /** Content digests of a kept context's files (see contexts.ts). */
  contextDigests?: DigestCache;
  /** Settles once the context's files are in place (a kept context is still being written as steps start). */
  contextReady?: Promise<void>;
  /** The kept context's key (the client's directory): it scopes the records that explain cache misses. */
  contextKey?: string;
  /** The Dockerfile's text, and its name (for messages). */
  dockerfile: string;
  dockerfileName: string;
  progress: (m: JSONMessage) => void;
  /** Aborted (with the error) when a stage fails: the other stages stop, as BuildKit cancels them. */
  signal?: AbortSignal;
}

export interface BuilderDeps {
  root: string;
  execRoot: string;
  runtime: string;
  images: ImagesService;
  snapshotter: Snapshotter;
  networks: NetworksService;
  distribution: DistributionService;
}

/** A stage's state after each instruction: what the next step builds on. */
interface State {
  config: OciImageConfig;
  layers: LayerRef[];
  key: string;
}

/** A --cache-from image as a cache hit is checked against: its history and its layers, in order. */
interface CacheSource {
  history: NonNullable<OciImageConfig['history']>;
  layers: LayerRef[];
}

interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const EMPTY_CONFIG = (): OciImageConfig => ({ architecture: hostArch(), os: 'linux', config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [] });
const DEFAULT_SHELL = ['/bin/sh', '-c'];
const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export class Builder {
  /** The step records, their accounting, prune, and COPY --link results (cache.ts). */
  readonly cache: BuildCache;

  /** The image each state was recorded as (classic builds' step images, and FROM's image): ` ---> <id>`. */
  private readonly imageOf = new WeakMap<State, string>();

  constructor(private readonly d: BuilderDeps) {
    this.cache = new BuildCache(d);
  }

  /** Cached steps name layers too: image garbage collection keeps them (until `builder prune`). */
  cacheRoots(): Promise<LayerRef[][]> {
    return this.cache.roots();
  }

  async build(o: BuildOptions): Promise<string> {
    const df = parseDockerfile(o.dockerfile, o.dockerfileName);
    const { stages, globalArgs } = splitStages(df.instructions, o.dockerfileName);
    const target = o.target ? stages.find((s) => s.name === o.target?.toLowerCase()) : stages[stages.length - 1];
    if (!target) throw new InvalidParameter(`failed to reach build target ${o.target} in Dockerfile`);
    for (const p of (o.platform ?? '').split(',').filter(Boolean)) checkPlatform(p);
    // Like dockerd's classic builder, RUN may join a user-defined network (it must exist: a 404 before any step).
    if (o.networkMode && !NETWORK_MODES.includes(o.networkMode)) {
      if (o.networkMode.includes(':')) throw new InvalidParameter(`network mode "${o.networkMode}" is not supported for builds: use default, bridge, none or host, or a user-defined network's name`);
      this.d.networks.get(o.networkMode);
    }
    const argEnv: Env = new Map();
    for (const inst of globalArgs) for (const [k, v] of parseKeyValues(inst.args, argEnv, df.escape, 'ARG', false)) argEnv.set(k, o.buildArgs[k] ?? (inst.args.includes('=') ? v : ''));
    const needed = neededStages(stages, target, argEnv, df.escape);
    // FROM --platform sees BuildKit's platform args ($BUILDPLATFORM, $TARGETPLATFORM…) and the global ARGs.
    const platformEnv: Env = new Map([...PLATFORM_ARGS.map((k): [string, string] => [k, defaultArg(k)!]), ...[...argEnv].filter(([, v]) => v !== '')]);
    for (const s of needed) {
      const raw = s.from.flags.platform?.[0];
      if (!raw) continue;
      const value = expandString(raw, platformEnv, df.escape);
      try {
        checkPlatform(value);
      } catch (e) {
        throw new InvalidParameter(`${o.dockerfileName}:${s.from.line}: FROM --platform=${raw}: ${(e as Error).message}`);
      }
    }
    const results = new Map<number, Promise<State>>();
    // Steps are numbered in Dockerfile order (stages run concurrently, so their lines interleave).
    const numbered = needed.flatMap((s) => [s.from, ...s.instructions]);
    const total = numbered.length;
    const vertices = new BuildVertices(o.progressMode ?? 'classic', o.progress, total, stages);
    const consumedArgs = new Set<string>();
    vertices.runs(needed.map((s) => s.index));
    const failed = new AbortController();
    const cacheSources = o.cacheFrom?.length ? await this.cacheSources(o.cacheFrom) : undefined;
    const runStage = (s: Stage): Promise<State> => {
      let p = results.get(s.index);
      if (!p) {
        p = this.runStage(s, stages, runStage, { ...o, cacheSources, escape: df.escape, argEnv, consumedArgs, stepOf: (inst) => numbered.indexOf(inst) + 1, total, vertices, signal: failed.signal });
        results.set(s.index, p);
        p.catch((e: unknown) => failed.abort(e)).finally(() => vertices.stageEnded(s.index));
      }
      return p;
    };
    // Every needed stage starts now; independent ones overlap in time.
    for (const s of needed) void runStage(s);
    // A failure stops the other stages; the build answers once all of them have ended, with the first error.
    await Promise.allSettled([...results.values()]);
    vertices.releaseAll();
    if (failed.signal.aborted) throw failed.signal.reason;
    const final = await runStage(target);
    const unused = Object.keys(o.buildArgs).filter((k) => !consumedArgs.has(k) && !PREDEFINED_ARGS.includes(k));
    if (unused.length) o.progress({ stream: `[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n` });
    return this.finish(final, o, vertices);
  }

  /** Write the image (config blob + record) and its tags. */
  private async finish(state: State, o: BuildOptions, vertices: BuildVertices): Promise<string> {
    const exporting = vertices.exporting();
    exporting.start();
    // Created is the last step's time: a build served wholly from the cache gives the same image (and ID)
    // again, as docker build does.
    const writing = new Date();
    const { digest } = await exporting.guard(this.d.images.content.putBytes(JSON.stringify(imageConfigOf(state, o.labels))));
    const refs = o.tags.map((t) => parseImageReference(t));
    // After a classic build the image is its last step's (or that step's child, with --label).
    const last = vertices.mode === 'classic' ? this.imageOf.get(state) : undefined;
    const parent = last && last !== digest ? { parent: last } : {};
    await exporting.guard(this.d.images.recordImage({ id: digest, configDigest: digest, layers: state.layers, repoDigests: [], ...parent }, refs));
    exporting.status(`writing image ${digest}`, writing);
    for (const r of refs) exporting.status(`naming to ${normalizedString(r)}`, new Date());
    exporting.done();
    o.progress({ aux: { ID: digest } });
    vertices.classic(`Successfully built ${digest.slice(7, 19)}\n`);
    for (const r of refs) vertices.classic(`Successfully tagged ${familiarString(r)}\n`);
    return digest;
  }

  private async runStage(
    s: Stage,
    stages: Stage[],
    runStage: (s: Stage) => Promise<State>,
    o: BuildOptions & { cacheSources?: CacheSource[]; escape: string; argEnv: Env; consumedArgs: Set<string>; stepOf: (inst: Instruction) => number; total: number; vertices: BuildVertices },
  ): Promise<State> {
    const say = (text: string) => o.vertices.classicOf(s.index, text);
    const fromRef = expandString(s.from.args.split(/\s+/)[0]!, o.argEnv, o.escape);
    say(`Step ${o.stepOf(s.from)}/${o.total} : ${s.from.original}\n`);
    const from = o.vertices.step(s, s.from, o.stepOf(s.from), { from: fromRef });
    from.start();
    let state = await from.track(this.baseState(fromRef, stages, runStage, { ...o, progress: from.relay(o.progress) }));
    // The classic builder's step IDs are images (dockerd's intermediate images): a user runs one to debug.
    const classic = o.vertices.mode === 'classic';
    let image = classic ? (this.imageOf.get(state) ?? (fromRef === 'scratch' ? '' : await this.stepImage(state, undefined))) : '';
    say(` ---> ${image.slice(7, 19)}\n`);
    const args: Env = new Map();
    let shell = state.config.config?.Shell ?? DEFAULT_SHELL;
    const triggers = (state.config.config?.OnBuild ?? []).map((t) => parseDockerfile(`FROM scratch\n${t}`, 'ONBUILD').instructions[1]!);
    if (triggers.length) state = { ...state, config: { ...state.config, config: { ...state.config.config, OnBuild: null } } };
    for (const inst of [...triggers, ...s.instructions]) {
      say(`Step ${triggers.includes(inst) ? '(onbuild)' : o.stepOf(inst)}/${o.total} : ${inst.original}\n`);
      const vertex = o.vertices.step(s, inst, o.stepOf(inst), { trigger: triggers.includes(inst) });
      if (inst.name === 'ARG') {
        for (const [k, v] of parseKeyValues(inst.args, new Map([...o.argEnv, ...args]), o.escape, 'ARG', false)) {
          const given = o.buildArgs[k];
          o.consumedArgs.add(k);
          args.set(k, given ?? (inst.args.includes(`${k}=`) ? v : o.argEnv.get(k) ?? defaultArg(k) ?? ''));
        }
        state = { ...state, key: sha(state.key + '\nARG ' + [...args].map(([k, v]) => `${k}=${v}`).join(' ')) };
        vertex.done();
        if (classic) this.imageOf.set(state, image); // no change to the image: the same one
        say(` ---> ${image.slice(7, 19)}\n`);
        continue;
      }
      if (inst.name === 'SHELL') shell = inst.json!;
      const noCache = o.noCache || (!!s.name && (o.noCacheFilter ?? []).includes(s.name));
      state = await vertex.track(this.step(state, inst, { ...o, noCache, args, shell, stages, runStage, say, vertex }));
      if (classic) image = await this.stepImage(state, image || undefined);
      say(` ---> ${image.slice(7, 19)}\n`);
    }
    return state;
  }

  /** A classic step's image: its state as an untagged image whose Parent is the step before's (the same
   *  image when the step changed nothing, e.g. ARG). Its config is the one `finish` would write, so the last
   *  step's image is the image built, and a cached step gives the same ID again. */
  private async stepImage(state: State, parent: string | undefined): Promise<string> {
    const { digest } = await this.d.images.content.putBytes(JSON.stringify(imageConfigOf(state, {})));
    if (digest !== parent && !this.d.images.store.get(digest)) {
      await this.d.images.recordImage({ id: digest, configDigest: digest, layers: state.layers, repoDigests: [], ...(parent ? { parent } : {}) }, []);
    }
    this.imageOf.set(state, digest);
    return digest;
  }

  /** FROM: scratch, an earlier stage, or an image (pulled when missing or with --pull). */
  private async baseState(ref: string, stages: Stage[], runStage: (s: Stage) => Promise<State>, o: BuildOptions): Promise<State> {
    if (ref === 'scratch') return { config: EMPTY_CONFIG(), layers: [], key: sha('scratch') };
    const stage = stages.find((st) => st.name === ref.toLowerCase());
    if (stage) return runStage(stage);
    const image = await this.resolveImage(ref, o);
    const rec = this.d.images.store.get(image)!;
    const config = await this.d.images.imageConfig(image);
    // dockerd's builder gives an image without PATH the default one.
    const env = config.config?.Env ?? [];
    const withPath = env.some((e) => e.startsWith('PATH=')) ? env : [DEFAULT_PATH, ...env];
    const state = { config: { ...config, config: { ...config.config, Env: withPath }, history: config.history ?? [] }, layers: rec.layers, key: sha('image ' + image) };
    this.imageOf.set(state, image);
    return state;
  }

  private async resolveImage(ref: string, o: BuildOptions): Promise<string> {
    if (!o.pull) {
      const local = await this.d.images.resolve(ref).catch(() => undefined);
      if (local) return local.id;
    }
    try {
      const [id] = await this.d.distribution.pull(ref, { auth: {}, progress: (m) => m.status && o.progress({ stream: `${m.id ? m.id + ': ' : ''}${m.status}\n` }) });
      return id!;
    } catch (e) {
      throw new NotFound(`pull access denied for ${ref}, repository does not exist or may require 'docker login': ${(e as Error).message}`);
    }
  }

  /** One instruction: a cache hit, or the work (metadata change, COPY/ADD, RUN). */
  private async step(
    state: State,
    inst: Instruction,
    o: BuildOptions & { cacheSources?: CacheSource[]; escape: string; argEnv: Env; args: Env; shell: string[]; stages: Stage[]; runStage: (s: Stage) => Promise<State>; say: (t: string) => void; vertex: StepVertex },
  ): Promise<State> {
    // Another stage failed: this one stops here (its step shows as canceled, the error being the same).
    if (o.signal?.aborted) throw o.signal.reason;
    const env = new Map([...o.args, ...envOf(state.config)]);
    const copySources = inst.name === 'COPY' || inst.name === 'ADD' ? await this.copySources(inst, env, o) : undefined;
    o.vertex.start(); // after the wait for the stages a COPY --from names
    try {
      const usedArgs = inst.name === 'RUN' ? [...o.args].map(([k, v]) => `${k}=${v}`).join(' ') : '';
      const inputs: StepInputs = { parent: state.key, instruction: JSON.stringify([inst.name, inst.args, inst.flags, inst.heredocs, inst.name === 'RUN' ? o.shell : '']), args: usedArgs, sources: copySources?.hash ?? '' };
      // A RUN under `build --network none|host` is another step than on the bridge (as in BuildKit).
      const buildNet = inst.name === 'RUN' && o.networkMode && !['default', 'bridge'].includes(o.networkMode) ? [o.networkMode] : [];
      const key = sha(JSON.stringify([inputs.parent, inst.name, inst.args, inst.flags, inst.heredocs, usedArgs, inputs.sources, inst.name === 'RUN' ? o.shell : '', ...buildNet]));
      // What this Dockerfile line was made of last time, to say why it missed: per directory when berth's CLI
      // synced it (two projects never explain each other's misses), else per Dockerfile name and line.
      const place = path.join(this.d.root, 'build', 'steps', sha(`${o.contextKey ?? ''}\n${o.dockerfileName}\n${inst.line}\n${inst.name}`) + '.json');
      if (!o.noCache) {
        const hit = await this.cached(key);
        const allowed = hit && (!o.cacheSources || o.cacheSources.some((src) => inHistoryOf(hit, src)));
        if (allowed) {
          o.vertex.cached();
          return hit;
        }
        const borrowed = this.borrow(state, inst, env, o);
        if (borrowed) {
          o.vertex.cached();
          const next = { ...borrowed, key };
          await this.cache.put(next, { description: inst.original, layer: ['RUN', 'COPY', 'ADD'].includes(inst.name) });
          return next;
        }
        // berth says why a step missed (DESIGN.md): the first input that differs from the last build.
        const why = hit ? 'its cached result is in no --cache-from image' : missReason(await readJsonIfExists<StepInputs>(place), inputs);
        if (why) o.vertex.miss(why);
      }
      await fs.mkdir(path.dirname(place), { recursive: true });
      await writeJsonAtomic(place, inputs);
      let next: State;
      switch (inst.name) {
        case 'RUN':
          next = await this.run(state, inst, env, o);
          break;
        case 'COPY':
        case 'ADD':
          await copySources!.prepare?.();
          next = await this.copy(state, inst, env, copySources!, o);
          break;
        case 'WORKDIR':
          next = await this.workdir(state, inst, o);
          break;
        default:
          next = configStep(state, inst, env, o);
      }
      next = { ...next, key };
      await this.cache.put(next, { description: inst.original, layer: ['RUN', 'COPY', 'ADD'].includes(inst.name) });
      return next;
    } finally {
      await copySources?.release();
    }
  }

  /**
   * dockerd's other kind of --cache-from hit: no cached step of ours is in their history, but one of them
   * goes on from this state with this very instruction. Its history entry (and layer) are taken; the config
   * is this build's own. Only for steps whose history entry says all they do: RUN without flags (no mounts,
   * no network) or heredocs, WORKDIR and the config-only instructions, and never with build args in scope (berth's
   * history entries do not name them); COPY and ADD always run (their entries do not name the content).
   */
  private borrow(state: State, inst: Instruction, env: Env, o: { cacheSources?: CacheSource[]; args: Env; shell: string[]; escape: string }): State | undefined {
    if (!o.cacheSources?.length || o.args.size || inst.name === 'COPY' || inst.name === 'ADD') return undefined;
    let next = state;
    let createdBy: string;
    if (inst.name === 'RUN') {
      // A heredoc run as a script file has only its path in the entry.
      if (Object.keys(inst.flags).length || inst.heredocs.length) return undefined;
      createdBy = runHistory(inst, runCommand(inst, o.shell).argv);
    } else if (inst.name === 'WORKDIR') {
      const config = applyChanges(state.config.config ?? {}, [inst.original], { args: o.args, shell: o.shell, escape: o.escape });
      next = { ...state, config: { ...state.config, config } };
      createdBy = `WORKDIR ${config.WorkingDir || '/'}`;
    } else {
      const done = configStep(state, inst, env, o);
      next = { ...done, config: { ...done.config, history: state.config.history } };
      createdBy = done.config.history!.at(-1)!.created_by!;
    }
    const n = state.config.history?.length ?? 0;
    for (const src of o.cacheSources) {
      const entry = src.history[n];
      if (entry?.created_by !== createdBy || !inHistoryOf(state, src)) continue;
      const layer = entry.empty_layer ? undefined : src.layers[state.layers.length];
      if (!entry.empty_layer && !layer) continue;
      return { ...next, config: { ...next.config, history: [...(state.config.history ?? []), entry] }, layers: layer ? [...state.layers, layer] : state.layers };
    }
    return undefined;
  }

  /** The --cache-from images that exist (as dockerd, one that does not is skipped: it matches nothing). */
  private async cacheSources(refs: string[]): Promise<CacheSource[]> {
    const out: CacheSource[] = [];
    for (const ref of refs) {
      const rec = await this.d.images.resolve(ref).catch(() => undefined);
      if (!rec) continue;
      const cfg = await this.d.images.imageConfig(rec.id);
      out.push({ history: cfg.history ?? [], layers: rec.layers });
    }
    return out;
  }

  /** A cached step, when every layer it names still exists (its use is recorded in the background). */
  private async cached(key: string): Promise<State | undefined> {
    const s = await this.cache.read(key);
    if (!s) return undefined;
    const chains = chainIds(s.layers.map((l) => l.diffId));
    for (let i = 0; i < s.layers.length; i++) {
      if (!(await this.d.images.content.has(s.layers[i]!.digest)) || !(await this.d.snapshotter.layers.info(chains[i]!))) return undefined;
    }
    this.cache.touch(key);
    return s;
  }

  // ---- WORKDIR ----

  /**
   * WORKDIR sets the working directory and makes it (with its parents) as BuildKit does: owned by USER
   * when one is set, an existing directory (or a symlink to one) left as it is. A layer only when
   * something was made; a path that is a file is refused with the step named.
   */
  private async workdir(state: State, inst: Instruction, o: BuildOptions & { args: Env; shell: string[]; escape: string }): Promise<State> {
    const config = applyChanges(state.config.config ?? {}, [inst.original], { args: o.args, shell: o.shell, escape: o.escape });
    const wd = config.WorkingDir || '/';
    const after = (empty: boolean) => withHistory({ ...state, config: { ...state.config, config } }, `WORKDIR ${wd}`, empty);
    if (wd === '/') return after(true);
    return this.withSnapshot(
      state,
      async (rootfs) => {
        const owner = config.User ? await resolveUser(rootfs, config.User) : undefined;
        await ensureDir(rootfs, wd, owner, 'create the working directory').catch((e: Error) => {
          throw new InvalidParameter(`${stepName(o, inst)}: ${e.message}`);
        });
        return after(false);
      },
      undefined,
      { ifEmpty: after(true), init: false },
    );
  }

  // ---- RUN ----

  private async run(
    state: State,
    inst: Instruction,
    env: Env,
    o: BuildOptions & { escape: string; args: Env; shell: string[]; stages: Stage[]; runStage: (s: Stage) => Promise<State>; say: (t: string) => void; vertex: StepVertex },
  ): Promise<State> {
    const { argv, script } = runCommand(inst, o.shell);
    const given = inst.flags.network?.[0] ?? 'default';
    if (!['default', 'none', 'host'].includes(given)) throw new InvalidParameter(`unsupported RUN --network=${given}: use default, none or host`);
    // "default" is the build's network (build --network), itself the bridge unless told otherwise.
    const network = given === 'default' && o.networkMode && o.networkMode !== 'bridge' ? o.networkMode : given;
    const mounts = (inst.flags.mount ?? []).map((m) => parseRunMount(expandString(m, env, o.escape)));
    if (mounts.some((m) => m.type === 'bind' && !m.from)) await o.contextReady;
    let mountPoints: string[] = [];
    return this.withSnapshot(state, async (rootfs, id, tmp) => {
      o.say(` ---> Running in ${id.slice(0, 12)}\n`);
      const cfg = state.config.config ?? {};
      const cwd = cfg.WorkingDir || '/';
      // A base image's working directory may be missing (WORKDIR made ours): runc needs it.
      await ensureDir(rootfs, cwd, undefined, 'use the working directory').catch((e: Error) => {
        throw new InvalidParameter(`${stepName(o, inst)}: ${e.message}`);
      });
      if (script) await checkInterpreter(rootfs, script.body, stepName(o, inst));
      const rec = { id, name: '/' + id.slice(0, 12), hostConfig: { NetworkMode: network === 'default' ? 'bridge' : network } as HostConfig, config: {}, networks: {} } as unknown as ContainerRecord;
      if (network !== 'none' && network !== 'host') rec.networks = this.d.networks.endpointsForCreate(rec.hostConfig);
      const netnsPath = await this.d.networks.attach(rec);
      let releaseMounts = async (): Promise<void> => undefined;
      try {
        const files = containerFiles(tmp);
        const extraHosts = (o.extraHosts ?? []).map((h) => h.replace(/:host-gateway$/, () => ':' + this.d.networks.hostGatewayIp()));
        const embeddedDns = this.d.networks.embeddedDns(rec);
        await writeContainerFiles(files, { hostname: id.slice(0, 12), extraHosts, dns: [], dnsSearch: [], dnsOptions: [], embeddedDns, hostNetwork: network === 'host', ip: Object.values(rec.networks ?? {})[0]?.IPAddress });
        const runEnv = [...new Map([...envOf(state.config), ...o.args])].map(([k, v]) => `${k}=${v}`);
        const prepared = await prepareRunMounts(mounts, {
          root: this.d.root,
          rootfs,
          contextDir: o.contextDir,
          secrets: o.secrets ?? {},
          exec: argv.join(' '),
          stageRoot: async (from) => {
            const stage = o.stages.find((st) => st.name === from.toLowerCase() || String(st.index) === from);
            return this.mountState(stage ? await o.runStage(stage) : await this.baseState(from, o.stages, o.runStage, o));
          },
        });
        mountPoints = prepared.created;
        releaseMounts = prepared.release;
        if (script) {
          const pipes = path.join(tmp, 'pipes');
          await fs.mkdir(pipes);
          await fs.writeFile(path.join(pipes, script.name), script.body, { mode: 0o755 });
          prepared.oci.push({ destination: PIPES, type: 'bind', source: pipes, options: ['rbind', 'ro'] });
        }
        const spec = buildSpec({
          id,
          rootfs,
          args: argv,
          env: runEnv,
          cwd,
          user: await resolveUser(rootfs, cfg.User),
          tty: false,
          hostname: id.slice(0, 12),
          hostConfig: rec.hostConfig,
          files,
          netnsPath,
          cgroupsPath: `/berth/build-${id}`,
          extraMounts: prepared.oci,
        });
        await writeJsonAtomic(path.join(tmp, 'config.json'), spec);
        // The classic builder shows stderr in red, as dockerd's does (clients match on it).
        const red = o.progressMode !== 'vertex';
        const code = await this.runc(tmp, id, (t) => o.vertex.log(t), o.signal, red ? (t) => o.vertex.log(`\x1b[91m${t}\x1b[0m`) : undefined);
        if (o.signal?.aborted) throw o.signal.reason;
        if (code !== 0) throw new RunFailed(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
      } finally {
        await releaseMounts();
        await this.d.networks.detach(rec).catch(() => undefined);
      }
      return withHistory(state, runHistory(inst, argv), false);
    }, (upper) => removeMountPoints(upper, mountPoints));
  }

  /** runc run in the foreground; output streamed as it comes. Returns the exit code. When `signal` aborts,
   *  runc gets SIGTERM (it forwards it to the container), then the container SIGKILL after 2 s. */
  private runc(bundle: string, id: string, out: (text: string) => void, signal?: AbortSignal, err = out): Promise<number> {
    const root = path.join(this.d.execRoot, 'runc');
    const name = `build-${id.slice(0, 20)}`;
    return new Promise((resolve, reject) => {
      const child = spawn(this.d.runtime, ['--root', root, 'run', '--bundle', bundle, name], { stdio: ['pipe', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => out(d.toString()));
      child.stderr.on('data', (d: Buffer) => err(d.toString()));
      child.stdin.on('error', () => undefined);
      child.stdin.end(); // a step reads no input (heredocs reach it through the shell)
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        child.kill('SIGTERM');
        timer = setTimeout(() => spawn(this.d.runtime, ['--root', root, 'kill', name, 'KILL'], { stdio: 'ignore' }).on('error', () => undefined), 2000);
      };
      signal?.addEventListener('abort', stop, { once: true });
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
        resolve(code ?? 1);
      });
    });
  }

  /** Run `work` with the state's filesystem mounted (a fresh snapshot); its changes become the next layer. */
  private async withSnapshot(
    state: State,
    work: (rootfs: string, id: string, tmp: string, upperDir: string) => Promise<State>,
    afterUnmount?: (upperDir: string) => Promise<void>,
    /** ifEmpty: the state to answer when the work changed nothing (no layer then, as BuildKit drops empty
     *  ones); init: false when no container runs (the init layer holds only runc's mount points). */
    opts: { ifEmpty?: State; init?: boolean } = {},
  ): Promise<State> {
    const id = randomBytes(32).toString('hex');
    const key = `build-${id.slice(0, 16)}`;
    const tmp = path.join(this.d.root, 'build', 'tmp', id.slice(0, 16));
    const rootfs = path.join(tmp, 'rootfs');
    const chains = chainIds(state.layers.map((l) => l.diffId));
    await fs.mkdir(rootfs, { recursive: true });
    // The init layer (runc's mount points, /etc/mtab) keeps those out of the step's layer, as in Docker.
    await this.d.snapshotter.prepare(key, chains[chains.length - 1], { init: opts.init ?? true });
    try {
      await this.d.snapshotter.mount(key, rootfs);
      let next: State;
      try {
        next = await work(rootfs, id, tmp, this.d.snapshotter.upperDir(key));
      } finally {
        await this.d.snapshotter.unmount(rootfs);
      }
      await afterUnmount?.(this.d.snapshotter.upperDir(key));
      if (opts.ifEmpty && !(await fs.readdir(this.d.snapshotter.upperDir(key))).length) return opts.ifEmpty;
      const { ref } = await this.d.images.unrecorded(() => commitUpper(this.d.images.content, this.d.snapshotter.layers, this.d.snapshotter.upperDir(key), chains[chains.length - 1]));
      return { ...next, layers: [...state.layers, ref] };
    } finally {
      await this.d.snapshotter.remove(key);
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  // ---- COPY / ADD ----

  /** Where a COPY/ADD reads from, what it copies, and the content hash for the cache key. */
  private async copySources(inst: Instruction, env: Env, o: BuildOptions & { escape: string; stages: Stage[]; runStage: (s: Stage) => Promise<State> }): Promise<CopySources> {
    const words = inst.json ?? expandWords(inst.args, env, o.escape);
    if (inst.heredocs.length) {
      const dir = await fs.mkdtemp(path.join(this.d.root, 'build', 'heredoc-'));
      for (const h of inst.heredocs) await fs.writeFile(path.join(dir, h.name), h.expand ? substituteVars(h.body, env, o.escape) : h.body);
      const dest = words[words.length - 1]!;
      return { root: dir, sources: inst.heredocs.map((h) => h.name), dest, destIsDir: namesDirectory(dest), hash: sha(JSON.stringify(inst.heredocs)), release: () => fs.rm(dir, { recursive: true, force: true }) };
    }
    const dest = words[words.length - 1]!;
    const patterns = words.slice(0, -1);
    if (!inst.flags.from?.[0]) await o.contextReady;
    const root = o.contextDir;
    const from = inst.flags.from?.[0];
    // A stage's or image's key already names its whole content: no need to read its files for the cache key.
    let fromKey = '';
    let fromState: State | undefined;
    if (from) {
      const ref = expandString(from, env, o.escape);
      const stage = o.stages.find((s) => s.name === ref.toLowerCase() || String(s.index) === ref);
      fromState = stage ? await o.runStage(stage) : await this.baseState(ref, o.stages, o.runStage, o);
      fromKey = fromState.key;
    }
    const out: CopySources = { root, sources: [], dest, destIsDir: namesDirectory(dest), hash: '', release: async () => undefined };
    const expand = async (): Promise<void> => {
      out.sources = [];
      for (const p of patterns) {
        if (/^https?:\/\//.test(p)) {
          if (inst.name !== 'ADD') throw new InvalidParameter(`source can't be a URL for COPY`);
          out.sources.push(p);
          continue;
        }
        if (!from && path.posix.normalize(p).startsWith('..')) {
          throw new InvalidParameter(`Forbidden path outside the build context: ${p} (${inst.original})`);
        }
        const found = await expandSource(out.root, p);
        if (!found.length) throw new InvalidParameter(`failed to compute cache key: "${p}" not found: not found in ${from ? `stage/image ${from}` : 'the build context'}`);
        out.sources.push(...found);
      }
    };
    const mount = async (): Promise<void> => {
      const mounted = await this.mountState(fromState!);
      out.root = mounted.rootfs;
      out.release = mounted.release;
      await expand().catch(async (e: unknown) => {
        await mounted.release();
        out.release = async () => undefined;
        throw e;
      });
    };
    const urls = () => out.sources.filter((s) => /^https?:\/\//.test(s)).join(' ');
    if (fromState && !patterns.some((p) => /[*?[]/.test(p))) {
      // A stage's or image's key already names its whole content, and plain paths need no expansion: the
      // key needs no mount; the copy mounts the stage only when the step really runs.
      out.sources = patterns.map((p) => (/^https?:\/\//.test(p) ? p : path.posix.normalize('/' + p).slice(1) || '.'));
      out.hash = sha(fromKey + JSON.stringify(out.sources.filter((s) => !/^https?:\/\//.test(s)))) + urls();
      out.prepare = mount;
      return out;
    }
    if (fromState) await mount();
    else await expand();
    const local = out.sources.filter((s) => !/^https?:\/\//.test(s));
    out.hash = (fromKey ? sha(fromKey + JSON.stringify(local)) : await hashSources(out.root, local, o.contextDigests)) + urls();
    return out;
  }

  private async mountState(state: State): Promise<{ rootfs: string; release: () => Promise<void> }> {
    const key = `build-src-${randomBytes(8).toString('hex')}`;
    const rootfs = path.join(this.d.root, 'build', 'tmp', key);
    const chains = chainIds(state.layers.map((l) => l.diffId));
    await this.d.snapshotter.prepare(key, chains[chains.length - 1]);
    await this.d.snapshotter.mount(key, rootfs);
    return {
      rootfs,
      release: async () => {
        await this.d.snapshotter.unmount(rootfs);
        await this.d.snapshotter.remove(key);
        await fs.rm(rootfs, { recursive: true, force: true });
      },
    };
  }

  private async copy(
    state: State,
    inst: Instruction,
    env: Env,
    src: { root: string; sources: string[]; dest: string; destIsDir: boolean; hash: string; release: () => Promise<void> },
    o: BuildOptions & { escape: string },
  ): Promise<State> {
    const cfg = state.config.config ?? {};
    const dest = path.posix.isAbsolute(src.dest) ? src.dest : path.posix.join(cfg.WorkingDir || '/', src.dest);
    const chown = inst.flags.chown?.[0] ? expandString(inst.flags.chown[0], env, o.escape) : undefined;
    const chmod = inst.flags.chmod?.[0];
    if (chmod && !/^[0-7]{3,4}$/.test(chmod)) throw new InvalidParameter(`invalid chmod parameter: ${chmod} (use octal, e.g. 755)`);
    const link = inst.flags.link?.[0];
    if (link !== undefined && link !== 'false') return this.copyLinked(state, inst, { ...src, dest }, chown, o);
    // From a kept context, files are hard-linked into the step's upper dir after the unmount (copy.ts).
    let links: HardLinks | undefined;
    return await this.withSnapshot(
      state,
      async (rootfs, _id, _tmp, upperDir) => {
        if (this.linkable(src.root, o)) links = { upperOf: (p) => path.join(upperDir, path.relative(rootfs, p)), pending: [] };
        await this.copyInto(rootfs, inst, { ...src, dest }, chown ? await resolveOwner(rootfs, chown) : undefined, links);
        return withHistory(state, `${inst.name} ${inst.original.slice(inst.name.length + 1)} # buildkit`, false);
      },
      async () => {
        for (const link of links?.pending ?? []) await link();
      },
    );
  }

  /** Files of a kept context never change in place: they can be hard-linked rather than copied. */
  private linkable(root: string, o: BuildOptions): boolean {
    return root === o.contextDir && !!o.contextDigests;
  }

  /** The copy itself, into `rootfs` at the (absolute) destination. */
  private async copyInto(rootfs: string, inst: Instruction, src: { root: string; sources: string[]; dest: string; destIsDir: boolean }, owner: { uid: number; gid: number } | undefined, links?: HardLinks): Promise<void> {
    const { dest } = src;
    const chmod = inst.flags.chmod?.[0];
    const local = src.sources.filter((s) => !/^https?:\/\//.test(s));
    const isDir = src.destIsDir || dest.endsWith('/');
    if (inst.name === 'ADD') {
      for (const s of local) {
        if (await this.addArchive(src.root, s, rootfs, dest, owner)) continue;
        await copyFiles({ srcRoot: src.root, sources: [s], destRoot: rootfs, dest, destIsDir: isDir || local.length > 1, owner, mode: chmod ? parseInt(chmod, 8) : undefined, links });
      }
      for (const url of src.sources.filter((s) => /^https?:\/\//.test(s))) await this.addUrl(url, rootfs, dest, isDir, owner);
    } else {
      await copyFiles({ srcRoot: src.root, sources: local, destRoot: rootfs, dest, destIsDir: isDir, owner, mode: chmod ? parseInt(chmod, 8) : undefined, links });
    }
  }

  /**
   * COPY --link / ADD --link: the files become a layer of their own, copied into an empty directory (over
   * nothing), so its key is the sources, flags and destination only: a changed parent reuses it (the
   * layer is then extracted over the new parent). Missing destination directories are created 0755 (owned
   * by --chown's user, else root), as BuildKit does; --chown names resolve in the parent's /etc/passwd.
   */
  private async copyLinked(state: State, inst: Instruction, src: { root: string; sources: string[]; dest: string; destIsDir: boolean; hash: string }, chown: string | undefined, o: BuildOptions): Promise<State> {
    let owner: { uid: number; gid: number } | undefined;
    if (chown && /^\d+(:\d+)?$/.test(chown)) {
      const [u, g] = chown.split(':');
      owner = { uid: Number(u), gid: Number(g ?? u) };
    } else if (chown) {
      const parent = await this.mountState(state);
      try {
        owner = await resolveOwner(parent.rootfs, chown);
      } finally {
        await parent.release();
      }
    }
    // Heredocs may expand variables: their content, not their text, keys the layer.
    const heredocs = await Promise.all(inst.heredocs.map((h) => fs.readFile(path.join(src.root, h.name), 'utf8').then(sha)));
    const linkKey = sha(JSON.stringify(['link', inst.name, { ...inst.flags, chown: owner ? [`${owner.uid}:${owner.gid}`] : [] }, src.hash, src.sources, src.dest, src.destIsDir, heredocs]));
    const chains = chainIds(state.layers.map((l) => l.diffId));
    const parentChain = chains[chains.length - 1];
    const layers = this.d.snapshotter.layers;
    const ref = await this.d.images.unrecorded(async () => {
      const known = await this.cache.readLink(linkKey);
      if (known) {
        if (!(await layers.info(chainId(parentChain, known.diffId)))) await layers.extract(this.d.images.content.reader(known.digest), parentChain, known.diffId);
        return known;
      }
      const dir = path.join(this.d.root, 'build', 'tmp', `link-${randomBytes(8).toString('hex')}`);
      const upper = path.join(dir, 'upper');
      await fs.mkdir(upper, { recursive: true, mode: 0o755 });
      try {
        // A plain directory, no overlay: links can be made at once.
        const links: HardLinks | undefined = this.linkable(src.root, o) ? { upperOf: (p) => p, pending: [] } : undefined;
        await this.copyInto(upper, inst, src, owner, links);
        for (const link of links?.pending ?? []) await link();
        const made = (await commitUpper(this.d.images.content, layers, upper, parentChain)).ref;
        await this.cache.putLink(linkKey, made);
        return made;
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
    const next = withHistory(state, `${inst.name} ${inst.original.slice(inst.name.length + 1)} # buildkit`, false);
    return { ...next, layers: [...state.layers, ref] };
  }

  /** ADD of a local tar archive (plain, gzip, bzip2, xz): extracted into the destination. */
  private async addArchive(root: string, rel: string, rootfs: string, dest: string, owner?: { uid: number; gid: number }): Promise<boolean> {
    const file = await secureJoin(root, '/' + rel);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) return false;
    const fh = await fs.open(file, 'r');
    const head = Buffer.alloc(512);
    await fh.read(head, 0, 512, 0);
    await fh.close();
    const compressed = (head[0] === 0x1f && head[1] === 0x8b) || head.subarray(0, 3).toString() === 'BZh' || head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
    const plainTar = head.subarray(257, 262).toString() === 'ustar';
    if (!compressed && !plainTar) return false;
    const target = await secureJoin(rootfs, dest);
    await fs.mkdir(target, { recursive: true });
    const { run } = await import('../../lib/exec.js');
    const r = await run(['tar', '-x', '-C', target, '--no-same-owner', '-f', file, ...(owner ? [] : [])], { allowFailure: true });
    if (r.exitCode !== 0) return false; // not a tar after all: ADD copies it as a file
    return true;
  }

  /** ADD of a URL: downloaded to the destination (a directory destination keeps the URL's file name). */
  private async addUrl(url: string, rootfs: string, dest: string, isDir: boolean, owner?: { uid: number; gid: number }): Promise<void> {
    const res = await fetch(url).catch((e: Error) => {
      throw new InvalidParameter(`failed to download ${url}: ${e.message}`);
    });
    if (!res.ok) throw new InvalidParameter(`failed to download ${url}: HTTP ${res.status}`);
    const name = isDir ? path.posix.join(dest, path.posix.basename(new URL(url).pathname) || 'index.html') : dest;
    const target = await secureJoin(rootfs, name);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
    await fs.lchown(target, owner?.uid ?? 0, owner?.gid ?? 0);
    const lm = res.headers.get('last-modified');
    if (lm) await fs.utimes(target, new Date(lm), new Date(lm));
  }
}

// ---- helpers ----

/** Where a COPY/ADD reads from (a mount of a stage, the context, or heredoc files), what it copies, and the
 *  hash of that content for the cache key. */
interface CopySources {
  root: string;
  sources: string[];
  dest: string;
  destIsDir: boolean;
  hash: string;
  /** Mount the stage to copy from, when the key did not need it (called before the copy). */
  prepare?: () => Promise<void>;
  release: () => Promise<void>;
}

/** What a step's cache key is made of, kept per Dockerfile step to explain the next miss. */
interface StepInputs {
  parent: string;
  instruction: string;
  args: string;
  sources: string;
}

function missReason(before: StepInputs | undefined, now: StepInputs): string | undefined {
  if (!before) return undefined;
  if (before.instruction !== now.instruction) return 'the instruction changed';
  if (before.sources !== now.sources) return 'the files it copies changed';
  if (before.args !== now.args) return `the build args it sees changed (${now.args || 'none'})`;
  if (before.parent !== now.parent) return 'an earlier step changed';
  return 'its cached result is gone (pruned)';
}

/** A step as errors name it: "Dockerfile:3: RUN <<EOS". */
function stepName(o: { dockerfileName: string }, inst: Instruction): string {
  return `${o.dockerfileName}:${inst.line}: ${inst.original}`;
}

/** A COPY/ADD destination that names a directory: "." (the WORKDIR), or ending in "/" or "/." (BuildKit's rule). */
function namesDirectory(dest: string): boolean {
  return dest === '.' || dest.endsWith('/') || dest.endsWith('/.');
}

/**
 * Whether a cached step's result is part of an image's making: the image's history and layers begin with
 * the step's (its history entries carry the time the step first ran, so only the build that made them, or
 * one that reused them, has them). dockerd's classic builder asks the same of its --cache-from images
 * (an image in their parent chain, or a prefix of their history).
 */
function inHistoryOf(state: State, src: CacheSource): boolean {
  const history = state.config.history ?? [];
  const diffIds = state.layers.map((l) => l.diffId);
  if (history.length > src.history.length || diffIds.length > src.layers.length) return false;
  if (diffIds.some((d, i) => d !== src.layers[i]!.diffId)) return false;
  const same = (a: (typeof history)[number], b: (typeof history)[number]) =>
    a.created === b.created && a.created_by === b.created_by && a.comment === b.comment && a.author === b.author && !!a.empty_layer === !!b.empty_layer;
  return history.every((h, i) => same(h, src.history[i]!));
}

/** A step that changes only the config (ENV, LABEL, CMD, SHELL, MAINTAINER, …): no work to do. */
function configStep(state: State, inst: Instruction, env: Env, o: { args: Env; shell: string[]; escape: string }): State {
  if (inst.name === 'MAINTAINER') return withHistory({ ...state, config: { ...state.config, author: expandString(inst.args, env, o.escape) } }, inst.original, true);
  if (inst.name === 'SHELL') return withHistory({ ...state, config: { ...state.config, config: { ...state.config.config, Shell: inst.json } } }, inst.original, true);
  return withHistory({ ...state, config: { ...state.config, config: applyChanges(state.config.config ?? {}, [inst.original], { args: o.args, shell: o.shell, escape: o.escape }) } }, inst.original, true);
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The image config of a state: created is its last step's time (a build wholly from the cache gives the
 *  same image, ID included, as docker build does); maps with sorted keys, as Go writes them (dockerd's JSON). */
function imageConfigOf(state: State, labels: Record<string, string>): OciImageConfig {
  const created = state.config.history?.at(-1)?.created ?? new Date().toISOString();
  const cfg: OciImageConfig = { ...state.config, created, rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffId) } };
  if (Object.keys(labels).length) cfg.config = { ...cfg.config, Labels: { ...(cfg.config?.Labels ?? {}), ...labels } };
  const c = { ...cfg.config };
  for (const k of ['ExposedPorts', 'Volumes', 'Labels'] as const) if (c[k]) c[k] = sortKeys(c[k] as Record<string, never>);
  cfg.config = c;
  return cfg;
}

function envOf(cfg: OciImageConfig): Env {
  const env: Env = new Map();
  for (const e of cfg.config?.Env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  return env;
}

const NETWORK_MODES = ['default', 'bridge', 'none', 'host'];
/** Where a RUN heredoc script is mounted (BuildKit's place). */
const PIPES = '/dev/pipes';

/** What a RUN runs: its argv, and the heredoc it runs as a script file, if any. */
function runCommand(inst: Instruction, shell: string[]): { argv: string[]; script?: Instruction['heredocs'][number] } {
  const heredoc = inst.heredocs[0];
  const onlyHeredoc = heredoc && /^<<-?\s*["']?\w+["']?\s*$/.test(inst.args);
  // A lone heredoc with a #! line is a script, run by the shell as a file (so by its interpreter), mounted
  // read-only at /dev/pipes/<name> for this step only: as BuildKit does.
  const script = onlyHeredoc && heredoc.body.startsWith('#!') ? heredoc : undefined;
  // A command with heredocs (`cat <<EOF > f`) goes to the shell whole, its documents after it: the shell
  // expands them (unless the delimiter is quoted) and feeds each to its command, as BuildKit has it.
  const command = inst.args + inst.heredocs.map((h) => `\n${h.body}${h.name}`).join('');
  return { argv: inst.json ?? [...shell, script ? `${PIPES}/${script.name}` : onlyHeredoc ? heredoc.body : command], script };
}

/** A RUN's history entry (created_by). */
function runHistory(inst: Instruction, argv: string[]): string {
  return `RUN ${inst.json ? JSON.stringify(inst.json) : argv.join(' ')} # buildkit`;
}

/** A heredoc script's #! interpreter must be in the image: else the step fails saying so (the shell would
 *  only say "not found" about the script). `#!/usr/bin/env x` checks env; env reports a missing x itself. */
async function checkInterpreter(rootfs: string, body: string, step: string): Promise<void> {
  const interpreter = /^#!\s*(\S*)/.exec(body)?.[1] ?? '';
  if (!interpreter.startsWith('/')) throw new InvalidParameter(`${step}: the heredoc's #! line names no interpreter by its absolute path: "${body.split('\n')[0]}"`);
  const st = await fs.stat(await secureJoin(rootfs, interpreter)).catch(() => undefined);
  if (!st?.isFile()) throw new InvalidParameter(`${step}: the heredoc's interpreter ${interpreter} (its #! line) is not in the image`);
}

/** A RUN step's command failed: dockerd reports its exit code as the build error's code. */
export class RunFailed extends InvalidParameter {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
const PLATFORM_ARGS = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT'];

/** A platform ("linux/amd64", "linux", "amd64", "linux/x86_64"…) this host builds, or a clear refusal. */
function checkPlatform(p: string): void {
  const host = hostArch();
  const parts = p.trim().toLowerCase().split('/');
  const [os, arch, variant] = parts.length === 1 && parts[0] !== 'linux' ? ['linux', parts[0], undefined] : parts;
  const norm = ({ x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', i386: '386' } as Record<string, string>)[arch ?? ''] ?? (arch || host);
  const variantOk = !variant || (norm === 'amd64' && variant === 'v1') || (norm === 'arm64' && variant === 'v8');
  if (parts.length > 3 || os !== 'linux' || norm !== host || !variantOk) {
    throw new InvalidParameter(`platform "${p}" is not supported: only linux/${host} builds here (berth runs RUN steps natively and does not emulate other platforms)`);
  }
}

/** BuildKit's automatic platform args, when a stage declares them without a value. */
function defaultArg(name: string): string | undefined {
  const arch = hostArch();
  const values: Record<string, string> = { TARGETPLATFORM: `linux/${arch}`, TARGETOS: 'linux', TARGETARCH: arch, TARGETVARIANT: '', BUILDPLATFORM: `linux/${arch}`, BUILDOS: 'linux', BUILDARCH: arch, BUILDVARIANT: '' };
  return values[name];
}

/** --chown's user (and group) resolved in a root filesystem: "name", "name:group", "uid:gid". */
async function resolveOwner(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  const u = await resolveUser(rootfs, chown.includes(':') ? chown : `${chown}:${chown}`).catch(() => resolveUser(rootfs, chown));
  return { uid: u.uid, gid: u.gid };
}

function withHistory(state: State, createdBy: string, empty: boolean): State {
  const entry = { created: new Date().toISOString(), created_by: createdBy, comment: 'buildkit.dockerfile.v0', ...(empty ? { empty_layer: true } : {}) };
  return { ...state, config: { ...state.config, history: [...(state.config.history ?? []), entry] } };
}

function splitStages(instructions: Instruction[], file: string): { stages: Stage[]; globalArgs: Instruction[] } {
  const stages: Stage[] = [];
  const globalArgs: Instruction[] = [];
  for (const inst of instructions) {
    if (inst.name === 'FROM') {
      const words = inst.args.split(/\s+/);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') name = words[2]!.toLowerCase();
      else if (words.length !== 1) throw new InvalidParameter(`failed to parse ${file}: line ${inst.line}: FROM requires either one or three arguments`);
      if (name && stages.some((s) => s.name === name)) throw new InvalidParameter(`failed to parse ${file}: line ${inst.line}: duplicate stage name "${name}"`);
      stages.push({ index: stages.length, name, from: inst, instructions: [] });
    } else if (!stages.length) globalArgs.push(inst);
    else stages[stages.length - 1]!.instructions.push(inst);
  }
  return { stages, globalArgs };
}

/** The target and the stages it depends on (FROM <stage>, COPY --from=<stage>), checked for cycles. */
function neededStages(stages: Stage[], target: Stage, argEnv: Env, escape: string): Stage[] {
  const byRef = (ref: string, before: number) => stages.find((s) => (s.name === ref.toLowerCase() || String(s.index) === ref) && s.index < before);
  const needed = new Set<number>();
  const visit = (s: Stage) => {
    if (needed.has(s.index)) return;
    needed.add(s.index);
    const base = byRef(expandString(s.from.args.split(/\s+/)[0]!, argEnv, escape), s.index);
    if (base) visit(base);
    for (const inst of s.instructions) {
      const from = inst.flags.from?.[0];
      if (!from) continue;
      const dep = byRef(from, s.index);
      if (dep) visit(dep);
      else if (stages.some((x) => x.name === from.toLowerCase())) throw new InvalidParameter(`stage "${from}" is used by stage ${s.index} before it is defined (a stage can only copy from earlier stages)`);
    }
  };
  visit(target);
  return stages.filter((s) => needed.has(s.index));
}
