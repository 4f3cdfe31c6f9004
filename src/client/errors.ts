// Errors the Engine API client raises. The CLI prints them in Docker's words
// ("Error response from daemon: ...", "Cannot connect to ...").

/** The daemon answered with an HTTP error; `message` is Docker's `{"message": ...}` body. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** Nothing answered on the socket (ENOENT, ECONNREFUSED) or the daemon could not be started. */
export class ConnectionError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'ConnectionError';
    this.code = code;
  }
}

/** An error message carried inside a JSON progress stream (load, import, pull). */
export class StreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamError';
  }
}

const CONNECT_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'ECONNRESET', 'EACCES']);

/** True when `err` says the socket has nobody listening (worth auto-starting the daemon). */
export function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECT_CODES.has(code);
}
