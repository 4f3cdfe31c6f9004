// The OCI distribution spec's error form: `{"errors":[{"code":"BLOB_UNKNOWN","message":…,"detail":…}]}`
// with the HTTP status distribution gives each code, and its default messages.

export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'TAG_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  | 'PAGINATION_NUMBER_INVALID'
  | 'UNKNOWN';

const DEFAULTS: Record<ErrorCode, [status: number, message: string]> = {
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_INVALID: [400, 'blob upload invalid'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  MANIFEST_BLOB_UNKNOWN: [400, 'blob unknown to registry'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  NAME_INVALID: [400, 'invalid repository name'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  TOOMANYREQUESTS: [429, 'too many requests'],
  RANGE_INVALID: [416, 'invalid content range'],
  PAGINATION_NUMBER_INVALID: [400, 'invalid number of results requested'],
  UNKNOWN: [500, 'unknown error'],
};

/** One spec error; thrown by handlers and written by the server as the JSON body. */
export class RegistryError extends Error {
  readonly status: number;
  /** Extra response headers (WWW-Authenticate, Range, Allow). */
  headers: Record<string, string> = {};

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    const [defStatus, defMessage] = DEFAULTS[code];
    super(message ?? defMessage);
    this.name = 'RegistryError';
    this.status = status ?? defStatus;
  }

  withHeaders(h: Record<string, string>): this {
    Object.assign(this.headers, h);
    return this;
  }

  body(): string {
    const e: { code: string; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) e.detail = this.detail;
    return JSON.stringify({ errors: [e] });
  }
}

export function regError(code: ErrorCode, message?: string, detail?: unknown, status?: number): RegistryError {
  return new RegistryError(code, message, detail, status);
}
