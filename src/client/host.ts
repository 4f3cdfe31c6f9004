// Which daemon the client talks to: -H/--host, then BERTH_HOST, then the default socket. Only the
// default socket may be auto-started (an embedded daemon needs no service manager), never a host the
// user named.
export const DEFAULT_SOCKET = '/run/berth/berth.sock';
export const DEFAULT_HOST = `unix://${DEFAULT_SOCKET}`;

export interface HostSpec {
  /** As the user would write it: unix:///path */
  url: string;
  socketPath: string;
  /** True when nobody chose a host, so the CLI may start the embedded daemon. */
  isDefault: boolean;
}

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): HostSpec {
  const chosen = flag || env.BERTH_HOST || '';
  if (!chosen) return { url: DEFAULT_HOST, socketPath: DEFAULT_SOCKET, isDefault: true };
  return parseHost(chosen);
}

export function parseHost(url: string): HostSpec {
  let socketPath: string;
  if (url.startsWith('unix://')) socketPath = url.slice('unix://'.length);
  else if (url.startsWith('/')) socketPath = url;
  else throw new Error(`invalid host "${url}": berth supports unix:///path hosts only`);
  if (!socketPath) throw new Error(`invalid host "${url}": empty socket path`);
  const isDefault = socketPath === DEFAULT_SOCKET;
  return { url: `unix://${socketPath}`, socketPath, isDefault };
}
