// `compose watch` / `up --watch` (issue 11 item 10): `develop.watch` rules turn file changes on the host
// into actions on the running service — sync (copy into the containers through the archive API,
// deletions through `rm -rf` in an exec, as Compose does), sync+restart, restart, sync+exec, rebuild.
//
// As Compose: changes are debounced (a batch is handled once 500 ms pass without a new one), `.git`
// and editors' temporary files are ignored, and so is whatever the build context's .dockerignore and the
// rule's `ignore` exclude; `include` narrows a rule to the paths it names.
//
// Beyond Compose: no change is lost while a container restarts. Batches are handled one at a time (a
// change made during a restart waits for the restart to finish, then is synced), and each container
// keeps the paths it still owes: a copy into a container that is restarting or being recreated, or a
// deletion in a container that is not running (exec needs a running one), stays pending and is retried
// until the container runs again or is gone.
import { promises as fs, statSync, watch as fsWatch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import type * as tarStream from 'tar-stream';
import { ApiError } from '../client/errors.js';
import { dockerignore, type IgnoreFilter } from '../lib/dockerignore.js';
import type { ComposeBackend } from './backend.js';
import { ComposeError, type DevelopWatch, type Project, type ServiceConfig } from './types.js';

/** Compose's quiet period: a batch is handled once no change has come for this long. */
export const QUIET_PERIOD_MS = 500;

export interface WatchRule {
  service: string;
  action: DevelopWatch['action'];
  /** Absolute host path watched (a directory, recursively, or a file). */
  path: string;
  /** Container path the files go to (sync actions). */
  target?: string;
  initialSync: boolean;
  exec?: DevelopWatch['exec'];
  /** Paths (absolute) the rule leaves out: .git, editors' files, the context's .dockerignore, `ignore`. */
  ignored: (hostPath: string) => boolean;
  /** Paths the rule covers (`include`; everything when absent). */
  included: (hostPath: string) => boolean;
}

/** A changed host path and where it goes in the container. */
export interface PathMapping {
  hostPath: string;
  containerPath: string;
}

// Editors' temporary and backup files (JetBrains, Emacs, Vim, Kate, Go), as Compose ignores them.
const EPHEMERAL = [/___jb_(old|tmp)___$/, /^\.#/, /^#.*#$/, /^4913$/, /~$/, /^\..*\.sw[pxon]$/, /^\..*\.kate-swp$/, /-go-tmp-umask$/];

export function isEphemeral(hostPath: string): boolean {
  const parts = hostPath.split(path.sep);
  if (parts.includes('.git') || parts.includes('.idea')) return true;
  const base = parts.at(-1) ?? '';
  return EPHEMERAL.some((re) => re.test(base));
}

const isSyncAction = (a: DevelopWatch['action']): boolean => a === 'sync' || a === 'sync+restart' || a === 'sync+exec';

/** The rules of the selected services (all with `develop.watch` when none is named), checked as Compose checks them. */
export async function watchRules(project: Project, services: string[], warn: (m: string) => void): Promise<WatchRule[]> {
  for (const s of services) {
    if (!project.services[s]) throw new ComposeError(`no such service: ${s}`);
  }
  const names = services.length ? services : Object.keys(project.services);
  const rules: WatchRule[] = [];
  for (const name of names) {
    const service = project.services[name]!;
    const triggers = service.develop?.watch ?? [];
    const contextIgnored = await contextIgnore(service);
    for (const [i, t] of triggers.entries()) {
      const key = `services.${name}.develop.watch[${i}]`;
      if (!t.path) throw new ComposeError(`${key}: watch rules MUST define a path`);
      if (t.action === 'rebuild' && !service.build) throw new ComposeError(`can't watch service "${name}" with action rebuild without a build context`);
      if (isSyncAction(t.action) && !t.target) throw new ComposeError(`${key}: action ${t.action} needs a target (the container path to sync to)`);
      if (t.action === 'sync+exec' && !t.exec?.command?.length) throw new ComposeError(`can't watch with action "sync+exec" on service ${name} without a command`);
      const hostPath = path.resolve(project.workingDir, t.path);
      if (isSyncAction(t.action) && boundInto(service, hostPath)) {
        warn(`path '${hostPath}' also declared by a bind mount volume, this path won't be monitored!`);
        continue;
      }
      const ignore = await dockerignore(t.ignore?.join('\n'));
      const include = t.include?.length ? await dockerignore(t.include.join('\n')) : undefined;
      const rel = (p: string): string => path.relative(hostPath, p).split(path.sep).join('/');
      rules.push({
        service: name,
        action: t.action,
        path: hostPath,
        target: t.target,
        initialSync: t.initial_sync ?? false,
        exec: t.exec,
        ignored: (p) => isEphemeral(p) || contextIgnored(p) || (p !== hostPath && ignore(rel(p))),
        included: (p) => !include || p === hostPath || include(rel(p)),
      });
    }
  }
  if (!rules.length) throw new ComposeError("none of the selected services is configured for watch, consider setting a 'develop' section");
  return rules;
}

/** The build context's .dockerignore, as a predicate on absolute paths (false outside the context). */
async function contextIgnore(service: ServiceConfig): Promise<(p: string) => boolean> {
  const ctx = service.build?.context;
  if (!ctx || /^[a-z]+:\/\//i.test(ctx) || ctx.startsWith('git@')) return () => false;
  const text = await fs.readFile(path.join(ctx, '.dockerignore'), 'utf8').catch(() => undefined);
  const ignored: IgnoreFilter = await dockerignore(text);
  return (p) => {
    const rel = path.relative(ctx, p);
    return !rel.startsWith('..') && !path.isAbsolute(rel) && ignored(rel.split(path.sep).join('/'));
  };
}

/** A sync path already bind-mounted into the service needs no syncing (Compose skips it, with a warning). */
function boundInto(service: ServiceConfig, hostPath: string): boolean {
  return (service.volumes ?? []).some((v) => {
    if (v.type !== 'bind' || !v.source) return false;
    const rel = path.relative(v.source, hostPath);
    return !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

/** Where a changed host path goes under a rule, or undefined when the rule does not cover it. */
export function matchRule(rule: WatchRule, hostPath: string): PathMapping | undefined {
  const rel = path.relative(rule.path, hostPath);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  if (!rule.included(hostPath) || rule.ignored(hostPath)) return undefined;
  const containerPath = rule.target ? path.posix.join(rule.target, rel.split(path.sep).join('/')) : '';
  return { hostPath, containerPath };
}

/** What a batch of changes asks for, service by service. */
export interface BatchPlan {
  rebuild: Set<string>;
  sync: Map<string, PathMapping[]>;
  restart: Set<string>;
  /** Rules whose exec hook runs after the sync, by service. */
  exec: Map<string, WatchRule[]>;
}

export function planBatch(rules: WatchRule[], changed: Iterable<string>): BatchPlan {
  const plan: BatchPlan = { rebuild: new Set(), sync: new Map(), restart: new Set(), exec: new Map() };
  for (const p of changed) {
    for (const rule of rules) {
      const m = matchRule(rule, p);
      if (!m) continue;
      if (rule.action === 'rebuild') plan.rebuild.add(rule.service);
      if (rule.action === 'restart' || rule.action === 'sync+restart') plan.restart.add(rule.service);
      if (isSyncAction(rule.action)) {
        const list = plan.sync.get(rule.service) ?? [];
        if (!list.some((x) => x.containerPath === m.containerPath)) list.push(m);
        plan.sync.set(rule.service, list);
      }
      if (rule.action === 'sync+exec') {
        const hooks = plan.exec.get(rule.service) ?? [];
        if (!hooks.includes(rule)) hooks.push(rule);
        plan.exec.set(rule.service, hooks);
      }
    }
  }
  return plan;
}

/** Collects changed paths and hands them over once QUIET_PERIOD_MS pass without another. */
export class Debouncer {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flush: (paths: Set<string>) => void,
    private readonly quietMs = QUIET_PERIOD_MS,
  ) {}

  add(p: string): void {
    this.pending.add(p);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = this.pending;
      this.pending = new Set();
      this.flush(batch);
    }, this.quietMs);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** What the watch loop does to the engine; the CLI supplies rebuild (build + recreate) when it can. */
export interface WatchOptions {
  backend: ComposeBackend;
  project: Project;
  rules: WatchRule[];
  /** A line of output ("Syncing service ..."). */
  log: (line: string) => void;
  /** Build the services' images and recreate their containers. */
  rebuild?: (services: string[]) => Promise<void>;
  /** How long to wait between attempts at paths a container still owes. */
  retryMs?: number;
}

/** Per container: container path → host path, copied if the host path exists, else deleted. */
type Owed = Map<string, Map<string, string>>;

export class Watch {
  private readonly watchers: FSWatcher[] = [];
  private readonly debouncer: Debouncer;
  /** Batches are handled one at a time; changes meanwhile gather here. */
  private queued = new Set<string>();
  private running: Promise<void> = Promise.resolve();
  private busy = false;
  private readonly owed: Owed = new Map();
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private settleDone!: (err?: Error) => void;
  /** Settles when the watch stops: resolved by stop(), rejected when a watcher fails. */
  readonly done: Promise<void>;

  constructor(private readonly o: WatchOptions) {
    this.debouncer = new Debouncer((paths) => this.enqueue(paths));
    this.done = new Promise((resolve, reject) => {
      this.settleDone = (err) => (err ? reject(err) : resolve());
    });
  }

  /** Initial syncs, then watch every rule's path. */
  async start(): Promise<void> {
    if (this.o.rules.some((r) => r.action === 'rebuild') && !this.o.rebuild) {
      throw new ComposeError('watch action rebuild is not supported by berth compose here: it needs build and recreate, use sync actions');
    }
    for (const rule of this.o.rules.filter((r) => r.initialSync && isSyncAction(r.action))) {
      await this.sync(rule.service, await initialFiles(rule));
    }
    const roots = [...new Set(this.o.rules.map((r) => r.path))].filter((p) => !this.o.rules.some((r) => r.path !== p && isInside(r.path, p)));
    for (const root of roots) this.watchPath(root);
    this.o.log('Watch enabled');
  }

  private watchPath(root: string): void {
    let st: Stats;
    try {
      st = statSync(root);
    } catch {
      throw new ComposeError(`cannot watch ${root}: no such file or directory`);
    }
    // A file is watched through its directory: editors replace files (a new inode) when they save.
    const dir = st.isDirectory() ? root : path.dirname(root);
    const w = fsWatch(dir, { recursive: st.isDirectory() }, (_event, name) => {
      if (!name) return;
      const p = path.join(dir, name.toString());
      if (st.isDirectory() || p === root) this.debouncer.add(p);
    });
    w.on('error', (err) => {
      this.stop();
      this.settleDone(new ComposeError(`watching ${root} failed: ${err.message}`));
    });
    this.watchers.push(w);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.debouncer.stop();
    for (const w of this.watchers) w.close();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.o.log('Watch disabled');
    this.settleDone();
  }

  private enqueue(paths: Set<string>): void {
    for (const p of paths) this.queued.add(p);
    if (this.busy) return; // the loop below picks them up when the current batch is done
    this.busy = true;
    // After whatever runs now (a batch, a retry): one thing at a time touches the containers.
    this.running = this.running.then(async () => {
      while (this.queued.size && !this.stopped) {
        const batch = this.queued;
        this.queued = new Set();
        await this.handle(batch).catch((err: unknown) => this.o.log(`Error handling changed files: ${messageOf(err)}`));
      }
      this.busy = false;
    });
  }

  private async handle(batch: Set<string>): Promise<void> {
    const plan = planBatch(this.o.rules, batch);
    if (plan.rebuild.size) {
      const services = [...plan.rebuild];
      this.o.log(`Rebuilding service(s) ${goQuoteList(services)} after changes were detected...`);
      await this.o.rebuild!(services);
      this.o.log(`service(s) ${goQuoteList(services)} successfully built`);
    }
    for (const [service, mappings] of plan.sync) {
      this.o.log(`Syncing service "${service}" after ${mappings.length} changes were detected`);
      await this.sync(service, mappings);
    }
    if (plan.restart.size) {
      const services = [...plan.restart];
      for (const s of services) {
        for (const c of await this.o.backend.containers(this.o.project.name, { services: [s], oneoff: false })) {
          await this.o.backend.restartContainer(c.Id);
        }
      }
      this.o.log(`service(s) ${goQuoteList(services)} restarted`);
    }
    for (const [service, hooks] of plan.exec) {
      for (const rule of hooks) await this.execHook(service, rule);
    }
  }

  /** Owe the mappings to every container of the service, then pay what can be paid now. */
  async sync(service: string, mappings: PathMapping[]): Promise<void> {
    const containers = await this.o.backend.containers(this.o.project.name, { all: true, services: [service], oneoff: false });
    for (const c of containers) {
      const owed = this.owed.get(c.Id) ?? new Map<string, string>();
      for (const m of mappings) owed.set(m.containerPath, m.hostPath);
      this.owed.set(c.Id, owed);
    }
    await this.pay(containers.map((c) => c.Id));
  }

  /** Copy and delete what each container is owed; what cannot be done yet stays owed and is retried. */
  private async pay(ids: string[]): Promise<void> {
    for (const id of ids) {
      const owed = this.owed.get(id);
      if (!owed?.size) continue;
      try {
        const left = await settle(this.o.backend, id, owed);
        if (left === undefined) this.owed.delete(id);
        else this.owed.set(id, left);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) this.owed.delete(id); // the container is gone
        // else: restarting, being recreated...: retried below
      }
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer || ![...this.owed.values()].some((m) => m.size)) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      // Through the same one-at-a-time loop as batches, so a retry never races a restart.
      this.running = this.running.then(() => this.pay([...this.owed.keys()])).catch(() => undefined);
    }, this.o.retryMs ?? 1000);
  }

  private async execHook(service: string, rule: WatchRule): Promise<void> {
    const x = rule.exec!;
    for (const c of await this.o.backend.containers(this.o.project.name, { services: [service], oneoff: false })) {
      const code = await this.o.backend.execWait(c.Id, x.command, { user: x.user, privileged: x.privileged, workingDir: x.working_dir, env: x.environment });
      if (code !== 0) this.o.log(`exec hook in ${c.Names[0]?.replace(/^\//, '')} exited with code ${code}`);
    }
  }
}

/**
 * Pay one container's owed paths: copies through the archive API (even into a stopped container),
 * deletions through `rm -rf` in an exec (only in a running one). Returns what is still owed, or
 * undefined when everything is done.
 */
async function settle(backend: ComposeBackend, id: string, owed: Map<string, string>): Promise<Map<string, string> | undefined> {
  const c = await backend.inspectContainer(id);
  if (c.State.Restarting || c.State.Status === 'removing' || c.State.Dead) return owed;
  const copies: PathMapping[] = [];
  const deletes: string[] = [];
  for (const [containerPath, hostPath] of owed) {
    if (await exists(hostPath)) copies.push({ hostPath, containerPath });
    else deletes.push(containerPath);
  }
  if (deletes.length && !c.State.Running) {
    // No exec into a stopped container: copies go now, deletions wait for it to run again.
    if (copies.length) await backend.putArchive(id, '/', await tarOf(copies), { copyUIDGID: true });
    return new Map(deletes.map((d) => [d, owed.get(d)!]));
  }
  if (deletes.length) {
    const code = await backend.execWait(id, ['rm', '-rf', ...deletes]);
    if (code !== 0) throw new Error(`rm exited with code ${code}`);
  }
  if (copies.length) await backend.putArchive(id, '/', await tarOf(copies), { copyUIDGID: true });
  return undefined;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Every file under a sync rule's path that the rule covers, for `initial_sync`. */
export async function initialFiles(rule: WatchRule): Promise<PathMapping[]> {
  const out: PathMapping[] = [];
  const walk = async (p: string): Promise<void> => {
    const st = await fs.lstat(p);
    if (p !== rule.path && rule.ignored(p)) return;
    if (st.isDirectory()) {
      for (const name of (await fs.readdir(p)).sort()) await walk(path.join(p, name));
    } else {
      const m = matchRule(rule, p);
      if (m) out.push(m);
    }
  };
  await walk(rule.path);
  return out;
}

/**
 * A tar of the host paths under their container paths (relative to "/"), directories recursively,
 * with the host's modes, times and owners. Last one wins for a path named twice. Small files are read
 * whole, so a file changing while it is packed cannot make the entry's size lie.
 */
export async function tarOf(mappings: PathMapping[]): Promise<Buffer> {
  const { pack: makePack } = await import('tar-stream');
  const pack = makePack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const seen = new Set<string>();
  const add = (header: Partial<tarStream.Header> & { name: string }, data?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => pack.entry(header as tarStream.Header, data ?? Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  const addPath = async (hostPath: string, name: string): Promise<void> => {
    const st = await fs.lstat(hostPath).catch(() => undefined);
    if (!st) return; // deleted meanwhile
    const base = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) {
      if (!seen.has(name)) await add({ ...base, type: 'directory' });
      seen.add(name);
      for (const child of (await fs.readdir(hostPath)).sort()) await addPath(path.join(hostPath, child), `${name}/${child}`);
    } else if (st.isSymbolicLink()) {
      await add({ ...base, type: 'symlink', linkname: await fs.readlink(hostPath) });
    } else if (st.isFile()) {
      const data = await fs.readFile(hostPath).catch(() => undefined);
      if (data) await add({ ...base, type: 'file', size: data.length }, data);
    }
  };
  // Deduplicate with last-one-wins, as Compose's archive builder does.
  const last = new Map<string, string>();
  for (const m of mappings) last.set(m.containerPath.replace(/^\/+/, ''), m.hostPath);
  for (const [name, hostPath] of last) await addPath(hostPath, name);
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

function isInside(parent: string, p: string): boolean {
  const rel = path.relative(parent, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Go's %q of a []string, as Compose prints service lists: ["web" "api"]. */
function goQuoteList(items: string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(' ')}]`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
