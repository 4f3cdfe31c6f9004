// berth's build-context sync (POST /build/context): what the client lists and the daemon compares.

/** One context entry as the client sees it: [path, type, mode, size, mtime in ns]. */
export type ContextEntry = [string, 'f' | 'd' | 'l', number, number, string];
