// Which commands may leave a warm CLI child to serve another (child.ts): ones that open no stdin, set no
// signal handler, keep nothing in memory for later and end when their requests are answered — the
// read-only ones, the changes that are one request each (rm, rmi, stop, create, prune, …), `build` (its
// code then runs warm: a build where nothing changed costs little more than its requests), `run`, `sbom`,
// `scan`, and compose's commands that end when the engine has answered (`up` only
// detached; compose's code, the biggest of the CLI's, then runs warm). Everything else ends its child.
// The child still checks afterwards that nothing was left over (stdin opened, a listener, a handle, an
// exit code), else it exits all the same: a `run -i`, `-t` or one that relayed signals, a `start -a`, a
// prune that asked for confirmation, a command that failed, is not reused.
/** Commands that may leave the child to serve another: [name, verbs of a management group]. */
const REUSABLE: Record<string, true | string[]> = {
  ps: true,
  images: true,
  inspect: true,
  version: true,
  info: true,
  logs: true,
  port: true,
  top: true,
  history: true,
  build: true,
  run: true,
  sbom: true,
  scan: true,
  // Changes that end once berthd answered (a script's `rm -f` before its `run`, `rmi` before a build).
  create: true,
  start: true,
  stop: true,
  restart: true,
  kill: true,
  rm: true,
  rename: true,
  pause: true,
  unpause: true,
  rmi: true,
  tag: true,
  builder: ['build', 'prune'],
  container: ['ls', 'ps', 'list', 'inspect', 'logs', 'port', 'top', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'rename', 'pause', 'unpause', 'prune'],
  image: ['ls', 'list', 'inspect', 'history', 'build', 'rm', 'tag', 'prune'],
  network: ['ls', 'list', 'inspect', 'create', 'rm', 'connect', 'disconnect', 'prune'],
  volume: ['ls', 'list', 'inspect', 'create', 'rm', 'prune'],
  system: ['info', 'df', 'prune'],
};
const GLOBAL_WITH_VALUE = new Set(['-H', '--host', '-l', '--log-level', '--config']);
/** compose's verbs that may leave the child; `up` only with -d/--detach or --wait. */
const COMPOSE_REUSABLE = new Set(['ps', 'ls', 'config', 'convert', 'images', 'top', 'port', 'version', 'up', 'down', 'create', 'start', 'stop', 'restart', 'rm', 'kill', 'pause', 'unpause', 'build', 'pull', 'push']);
/** compose's own global flags that take a value (`compose -f FILE -p NAME up`). */
const COMPOSE_WITH_VALUE = new Set(['-f', '--file', '-p', '--project-name', '--profile', '--env-file', '--project-directory', '--parallel', '--ansi', '--progress']);

/** `compose [flags] VERB [args]`: VERB reusable, no follow among its args, `up` detached. */
function composeMayReuse(args: string[]): boolean {
  let i = 0;
  for (; i < args.length && args[i]!.startsWith('-'); i++) if (COMPOSE_WITH_VALUE.has(args[i]!)) i++;
  const verb = args[i] ?? '';
  const rest = args.slice(i + 1);
  if (!COMPOSE_REUSABLE.has(verb) || rest.some(isFollow)) return false;
  return verb !== 'up' || rest.some((a) => a === '-d' || a === '--detach' || a === '--wait' || /^-[a-zA-Z]*d[a-zA-Z]*$/.test(a));
}

const isFollow = (a: string) => a === '--follow' || a.startsWith('--follow=') || /^-[a-zA-Z]*f[a-zA-Z]*$/.test(a);

export function mayReuse(argv: string[]): boolean {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (words.length === 0 && a.startsWith('-')) {
      if (GLOBAL_WITH_VALUE.has(a)) i++;
      continue;
    }
    words.push(a);
  }
  if (words.length === 0) return true; // --version, or the usage
  if (words[0] === 'compose') return composeMayReuse(argv.slice(argv.indexOf('compose') + 1));
  const [name = '', verb = ''] = words;
  const entry = REUSABLE[name];
  const ok = entry === true || (Array.isArray(entry) && entry.includes(verb));
  // -f is --follow for logs only (rm -f forces, ps -f filters).
  const follows = name === 'logs' || (name === 'container' && verb === 'logs');
  return ok && !(follows && argv.some(isFollow));
}
