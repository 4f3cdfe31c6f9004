// One error hierarchy for the whole engine, mapped to HTTP status codes as dockerd maps its errdefs.
// Messages follow Docker's wording where users script against them.

export class BerthError extends Error {
  readonly status: number = 500;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** 404: the named thing does not exist. */
export class NotFound extends BerthError {
  override readonly status = 404;
}

/** 409: the request conflicts with current state (name in use, container running). */
export class Conflict extends BerthError {
  override readonly status = 409;
}

/** 400: the request itself is malformed or names an invalid value. */
export class InvalidParameter extends BerthError {
  override readonly status = 400;
}

/** 401: the registry refused the credentials (POST /auth). */
export class Unauthorized extends BerthError {
  override readonly status = 401;
}

/** 304: nothing to do (container already started/stopped). */
export class NotModified extends BerthError {
  override readonly status = 304;
}

/** 501: a feature berth does not support (yet). */
export class NotImplemented extends BerthError {
  override readonly status = 501;
}

/** 503: the node cannot serve this now (dockerd's answer to swarm requests on a node outside a swarm). */
export class Unavailable extends BerthError {
  override readonly status = 503;
}

/** 500: something failed on the host (a system tool, the disk). */
export class SystemError extends BerthError {
  override readonly status = 500;
}

/** HTTP status for any thrown value: ours carry one, anything else is a 500. */
export function statusOf(err: unknown): number {
  return err instanceof BerthError ? err.status : 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
