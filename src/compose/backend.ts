// The narrow slice of the Engine API that compose uses, over the API client only (DESIGN.md: compose
// knows nothing of the daemon's internals), so `berth compose` drives berthd and dockerd alike.
// A project's state is always read from the engine by label, never from a file of berth's.
import type { IncomingMessage } from 'node:http';
import type { EngineClient } from '../client/engine.js';
import type { Readable } from 'node:stream';
import { ApiError } from '../client/errors.js';
import type {
  ContainerCreateRequest,
  ContainerInspect,
  ContainerSummary,
  EndpointSettings,
  ImageInspect,
  ImageSummary,
  NetworkCreateRequest,
  NetworkInspect,
  Volume,
  VolumeCreateRequest,
  VolumeListResponse,
} from '../api/types.js';
import type { Query } from '../client/engine.js';
import { CONFIG_HASH, ONEOFF, PROJECT, SERVICE } from './labels.js';

export interface ContainerQuery {
  /** Stopped ones too. */
  all?: boolean;
  services?: string[];
  /** true: only `run` one-off containers; false: none of them; undefined: both. */
  oneoff?: boolean;
}

export interface ExecWaitOptions {
  user?: string;
  privileged?: boolean;
  workingDir?: string;
  env?: Record<string, string>;
}

export class ComposeBackend {
  constructor(readonly client: EngineClient) {}

  /** The project's containers, sorted by service then container number. */
  async containers(project: string, q: ContainerQuery = {}): Promise<ContainerSummary[]> {
    const label = [`${PROJECT}=${project}`];
    if (q.oneoff !== undefined) label.push(`${ONEOFF}=${q.oneoff ? 'True' : 'False'}`);
    const list = await this.client.json<ContainerSummary[]>({
      path: '/containers/json',
      query: { all: q.all || undefined, filters: JSON.stringify({ label: Object.fromEntries(label.map((l) => [l, true])) }) },
    });
    const wanted = q.services?.length ? new Set(q.services) : undefined;
    return list
      .filter((c) => !wanted || wanted.has(c.Labels[SERVICE] ?? ''))
      // A plain comparison, not localeCompare: its first call loads ICU's collator (~30 ms of every command).
      .sort((a, b) => byString(a.Labels[SERVICE] ?? '', b.Labels[SERVICE] ?? '') || containerNumber(a) - containerNumber(b));
  }

  inspectContainer(id: string): Promise<ContainerInspect> {
    return this.client.json<ContainerInspect>({ path: `/containers/${encodeURIComponent(id)}/json` });
  }

  /** `platform` (os[/arch[/variant]]): the service's `platform`, sent as Compose sends it. */
  async createContainer(name: string, body: ContainerCreateRequest, platform?: string): Promise<string> {
    const res = await this.client.json<{ Id: string }>({ method: 'POST', path: '/containers/create', query: { name, platform }, body });
    return res.Id;
  }

  async startContainer(id: string): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/start` });
  }

  async stopContainer(id: string, timeout?: number): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/stop`, query: { t: timeout } });
  }

  async removeContainer(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    await this.client.call({
      method: 'DELETE',
      path: `/containers/${encodeURIComponent(id)}`,
      query: { force: opts.force || undefined, v: opts.volumes || undefined },
    });
  }

  /** Networks and volumes the project created (by label). */
  async networks(project: string): Promise<NetworkInspect[]> {
    return this.client.json<NetworkInspect[]>({
      path: '/networks',
      query: { filters: JSON.stringify({ label: { [`${PROJECT}=${project}`]: true } }) },
    });
  }

  async inspectNetwork(name: string): Promise<NetworkInspect | undefined> {
    return orUndefined(this.client.json<NetworkInspect>({ path: `/networks/${encodeURIComponent(name)}` }));
  }

  async createNetwork(body: NetworkCreateRequest): Promise<string> {
    const res = await this.client.json<{ Id: string }>({ method: 'POST', path: '/networks/create', body });
    return res.Id;
  }

  async removeNetwork(name: string): Promise<void> {
    await this.client.call({ method: 'DELETE', path: `/networks/${encodeURIComponent(name)}` });
  }

  async volumes(project: string): Promise<Volume[]> {
    const res = await this.client.json<VolumeListResponse>({
      path: '/volumes',
      query: { filters: JSON.stringify({ label: { [`${PROJECT}=${project}`]: true } }) },
    });
    return res.Volumes ?? [];
  }

  async inspectVolume(name: string): Promise<Volume | undefined> {
    return orUndefined(this.client.json<Volume>({ path: `/volumes/${encodeURIComponent(name)}` }));
  }

  async createVolume(body: VolumeCreateRequest): Promise<Volume> {
    return this.client.json<Volume>({ method: 'POST', path: '/volumes/create', body });
  }

  async removeVolume(name: string): Promise<void> {
    await this.client.call({ method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}` });
  }

  /** Join a created container to another network (engines before API 1.44 take one at create). */
  async connectNetwork(network: string, container: string, endpoint: EndpointSettings = {}): Promise<void> {
    await this.client.call({ method: 'POST', path: `/networks/${encodeURIComponent(network)}/connect`, body: { Container: container, EndpointConfig: endpoint } });
  }

  /** Extract a tar into the container at `path` (PUT /containers/{id}/archive): secrets and configs. */
  async copyToContainer(id: string, path: string, tar: Buffer): Promise<void> {
    await this.client.call({ method: 'PUT', path: `/containers/${encodeURIComponent(id)}/archive`, query: { path }, input: tar });
  }

  /** Every compose-made container of every project (for `ls`): the project and config-hash labels. */
  async composeContainers(all: boolean): Promise<ContainerSummary[]> {
    return this.client.json<ContainerSummary[]>({
      path: '/containers/json',
      query: { all: all || undefined, filters: JSON.stringify({ label: { [PROJECT]: true, [CONFIG_HASH]: true } }) },
    });
  }

  /** A container's log stream (multiplexed unless it has a TTY). */
  logs(id: string, q: { follow?: boolean; tail?: string; since?: string; until?: string; timestamps?: boolean }): Promise<IncomingMessage> {
    return this.client.request({
      path: `/containers/${encodeURIComponent(id)}/logs`,
      query: { stdout: true, stderr: true, follow: q.follow || undefined, tail: q.tail, since: q.since, until: q.until, timestamps: q.timestamps || undefined },
    });
  }

  /** The engine's event stream (one JSON message per line), filtered. */
  events(filters: Record<string, string[]>, q: { since?: string; until?: string } = {}): Promise<IncomingMessage> {
    const f = Object.fromEntries(Object.entries(filters).map(([k, vs]) => [k, Object.fromEntries(vs.map((v) => [v, true]))]));
    return this.client.request({ path: '/events', query: { since: q.since, until: q.until, filters: JSON.stringify(f) } });
  }

  top(id: string): Promise<{ Titles: string[]; Processes: string[][] }> {
    return this.client.json({ path: `/containers/${encodeURIComponent(id)}/top` });
  }

  /** The image's runtime config and ID (recreate.ts reads the defaults the engine merged from it). */
  async inspectImage(ref: string): Promise<ImageInspect | undefined> {
    return orUndefined(this.client.json<ImageInspect>({ path: `/images/${encodeURIComponent(ref)}/json` }));
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/rename`, query: { name } });
  }

  // ---- stop, kill, pause and images (down, stop, start, restart, kill, rm, pause, unpause) ----

  async killContainer(id: string, signal?: string): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/kill`, query: { signal } });
  }

  /** POST /images/create (`fromImage` without its tag, `tag` a tag or digest): the JSON progress stream. */
  pullImage(fromImage: string, tag: string | undefined, headers: Record<string, string> = {}, platform?: string): Promise<IncomingMessage> {
    return this.client.request({ method: 'POST', path: '/images/create', query: { fromImage, tag, platform }, headers });
  }

  /** POST /images/{name}/push: the JSON progress stream of a push. */
  pushImage(name: string, tag: string | undefined, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    return this.client.request({ method: 'POST', path: `/images/${name.split('/').map(encodeURIComponent).join('/')}/push`, query: { tag }, headers });
  }

  /** POST /build with a context body: the JSON progress stream. */
  build(query: Query, body: Readable, headers: Record<string, string>): Promise<IncomingMessage> {
    return this.client.request({ method: 'POST', path: '/build', query, headers, input: body, contentType: 'application/x-tar' });
  }

  /** GET /events for the project's containers, as a live stream (the caller destroys it when done). */
  projectEvents(project: string): Promise<IncomingMessage> {
    return this.events({ type: ['container'], label: [`${PROJECT}=${project}`] });
  }


  /** Blocks until the container reaches the condition; its exit code. */
  async waitContainer(id: string, condition?: 'not-running' | 'next-exit' | 'removed'): Promise<number> {
    const res = await this.client.json<{ StatusCode: number }>({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/wait`, query: { condition } });
    return res.StatusCode;
  }

  async restartContainer(id: string, timeout?: number): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/restart`, query: { t: timeout } });
  }

  async pauseContainer(id: string): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/pause` });
  }

  async unpauseContainer(id: string): Promise<void> {
    await this.client.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/unpause` });
  }

  /** Images carrying the project's label (the ones compose built), dangling ones left out. */
  async projectImages(project: string): Promise<ImageSummary[]> {
    return this.client.json<ImageSummary[]>({
      path: '/images/json',
      query: { filters: JSON.stringify({ label: { [`${PROJECT}=${project}`]: true }, dangling: { false: true } }) },
    });
  }

  async removeImage(ref: string): Promise<void> {
    await this.client.call({ method: 'DELETE', path: `/images/${encodeURIComponent(ref)}` });
  }

  async disconnectNetwork(network: string, container: string, force = false): Promise<void> {
    await this.client.call({ method: 'POST', path: `/networks/${encodeURIComponent(network)}/disconnect`, body: { Container: container, Force: force } });
  }

  /** Extract a tar into the container's filesystem at `dir` (PUT /containers/{id}/archive). */
  async putArchive(id: string, dir: string, tar: Buffer | Readable, opts: { copyUIDGID?: boolean } = {}): Promise<void> {
    await this.client.call({
      method: 'PUT',
      path: `/containers/${encodeURIComponent(id)}/archive`,
      query: { path: dir, copyUIDGID: opts.copyUIDGID || undefined },
      input: tar,
    });
  }

  /** After a watch rebuild: the project's images left dangling by it go (Compose's watch --prune); errors ignored. */
  async removeDanglingProjectImages(project: string): Promise<void> {
    const images = await this.client.json<ImageSummary[]>({
      path: '/images/json',
      query: { filters: JSON.stringify({ label: { [`${PROJECT}=${project}`]: true }, dangling: { true: true } }) },
    });
    for (const img of images) await this.removeImage(img.Id).catch(() => undefined);
  }

  /** Run a command in a running container, detached, and wait for its exit code (a short command: rm). */
  async execWait(id: string, cmd: string[], opts: ExecWaitOptions = {}): Promise<number> {
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const { Id } = await this.client.json<{ Id: string }>({
      method: 'POST',
      path: `/containers/${encodeURIComponent(id)}/exec`,
      body: { Cmd: cmd, AttachStdout: false, AttachStderr: false, User: opts.user, Privileged: opts.privileged, WorkingDir: opts.workingDir, Env: env.length ? env : undefined },
    });
    await this.client.call({ method: 'POST', path: `/exec/${Id}/start`, body: { Detach: true } });
    for (;;) {
      const st = await this.client.json<{ Running: boolean; ExitCode: number | null }>({ path: `/exec/${Id}/json` });
      if (!st.Running && st.ExitCode !== null) return st.ExitCode;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The registry's digest for an image reference (GET /distribution/{name}/json), as `config --resolve-image-digests` pins it. */
  async distributionDigest(ref: string, registryAuth: string): Promise<string> {
    const res = await this.client.json<{ Descriptor: { digest: string } }>({
      path: `/distribution/${ref}/json`,
      headers: { 'X-Registry-Auth': registryAuth },
    });
    return res.Descriptor.digest;
  }
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function containerNumber(c: { Labels: Record<string, string> | null }): number {
  return Number(c.Labels?.['com.docker.compose.container-number'] ?? 0) || 0;
}

/** The container's name without the leading slash. */
export function containerName(c: ContainerSummary): string {
  return (c.Names[0] ?? '').replace(/^\//, '');
}

/** A 404 becomes undefined; anything else is thrown. */
async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
