// A container's log as the API reads it (GET /containers/{id}/logs, attach's logs=1): which file, the
// entries on disk, then — when following — new ones until the container stops. The route only parses
// the query and frames what it is given.
import { InvalidParameter } from '../../lib/errors.js';
import { frame, STDERR, STDOUT } from '../../lib/stdcopy.js';
import { followLogs, readLogs, type LogEntry, type LogQuery } from './logs.js';
import type { ContainerStore } from './store.js';

/** What reading a log needs from the containers service. */
export interface LogSource {
  readonly store: ContainerStore;
  logPath(id: string): string;
}

export interface ContainerLogStream {
  /** A TTY container's log goes out raw, any other's multiplexed. */
  tty: boolean;
  /** The query's entries; a query that names no stream is refused now, before any reply. */
  read(query: LogQuery, signal: AbortSignal): AsyncIterable<LogEntry>;
}

const LIVE = ['running', 'paused', 'restarting'];

/** The container's log, or NotFound / a refusal for a driver that cannot be read (before any reply). */
export function openContainerLogs(src: LogSource, ref: string): ContainerLogStream {
  const rec = src.store.get(ref);
  const type = rec.hostConfig.LogConfig?.Type || 'json-file';
  if (type === 'none') throw new InvalidParameter(`configured logging driver does not support reading`);
  return {
    tty: rec.config.Tty ?? false,
    read: (query, signal) => {
      if (!query.stdout && !query.stderr) throw new InvalidParameter('Bad parameters: you must choose at least one stream');
      return entries(src, rec.id, query, signal);
    },
  };
}

async function* entries(src: LogSource, id: string, query: LogQuery, signal: AbortSignal): AsyncGenerator<LogEntry> {
  const file = src.logPath(id);
  yield* readLogs(file, query);
  if (!query.follow) return;
  const running = () => {
    const r = src.store.tryGet(id);
    return !!r && LIVE.includes(r.state.status);
  };
  if (running()) yield* followLogs(file, query, () => !running(), signal);
}

/** Everything the log holds for the chosen streams (attach's logs=1 replay). */
export function replayLogs(src: LogSource, id: string, streams: { stdout: boolean; stderr: boolean }): AsyncGenerator<LogEntry> {
  return readLogs(src.logPath(id), { stdout: streams.stdout, stderr: streams.stderr, since: 0, until: 0, tail: -1, follow: false });
}

/** One entry on the wire: raw for a TTY, else in Docker's stdout/stderr frames. */
export function encodeLogEntry(e: LogEntry, tty: boolean, timestamps: boolean): Buffer {
  const text = timestamps ? `${e.time} ${e.log}` : e.log;
  return tty ? Buffer.from(text) : frame(e.stream === 'stderr' ? STDERR : STDOUT, text);
}
