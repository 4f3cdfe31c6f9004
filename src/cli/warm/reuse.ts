// Which commands may leave a warm CLI child to serve another (child.ts): ones that open no stdin, set no
// signal handler, keep nothing in memory for later and end when their requests are answered — the
// read-only ones, and `build` (its code then runs warm: a build where nothing changed costs little more
// than its requests). Everything else ends its child. The child still checks afterwards that nothing was
// left over (stdin opened, a listener, a handle, an exit code), else it exits all the same.
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
  builder: ['build'],
  container: ['ls', 'ps', 'list', 'inspect', 'logs', 'port', 'top'],
  image: ['ls', 'list', 'inspect', 'history', 'build'],
  network: ['ls', 'list', 'inspect'],
  volume: ['ls', 'list', 'inspect'],
  system: ['info', 'df'],
};
const GLOBAL_WITH_VALUE = new Set(['-H', '--host', '-l', '--log-level', '--config']);

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
  const [name = '', verb = ''] = words;
  const entry = REUSABLE[name];
  const ok = entry === true || (Array.isArray(entry) && entry.includes(verb));
  const follows = argv.some((a) => a === '--follow' || a.startsWith('--follow=') || /^-[a-zA-Z]*f[a-zA-Z]*$/.test(a));
  return ok && !follows;
}
