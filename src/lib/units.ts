// Sizes and durations as Docker prints and parses them (docker/go-units, Go's time.ParseDuration).
// STUB: signatures only; implementation in progress.

/** go-units HumanSize: decimal units, 3 significant digits: "2.13MB", "0B", "1.5kB". */
export function humanSize(_bytes: number): string {
  throw new Error('not implemented');
}
/** go-units BytesSize: binary units: "2.03MiB". */
export function bytesSize(_bytes: number): string {
  throw new Error('not implemented');
}
/** go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", "2 hours", ... */
export function humanDuration(_ms: number): string {
  throw new Error('not implemented');
}
/** go-units RAMInBytes: "512m" → 536870912 (binary multipliers, as docker run --memory). */
export function ramInBytes(_s: string): number {
  throw new Error('not implemented');
}
/** go-units FromHumanSize: "10m" → 10000000 (decimal), as used by --log-opt max-size... */
export function fromHumanSize(_s: string): number {
  throw new Error('not implemented');
}
/** Go time.ParseDuration: "1m30s", "500ms", "2h" → milliseconds. Throws InvalidParameter when malformed. */
export function parseDuration(_s: string): number {
  throw new Error('not implemented');
}
