// A tar read member by member from its raw bytes as they stream by: each member's records (its pax or GNU
// long-name records, its header, its padded body) are handed to the destination the caller chooses for
// it, as slices of the input — nothing is re-encoded, so a destination's bytes are a valid tar of those
// members. Used to spread one layer's extraction over several GNU tar processes (snapshots/extract.ts).

export type TarMemberType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'pax-global-header' | 'other';

export interface TarMember {
  /** The member's name as the archive gives it (pax path, GNU long name, or ustar prefix + name). */
  name: string;
  type: TarMemberType;
  linkname: string;
  /** Bytes of the body (not padded). */
  size: number;
}

const BLOCK = 512;
const MAX_LONG_RECORD = 1 << 20;

const TYPES: Record<string, TarMemberType> = {
  '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '3': 'character-device',
  '4': 'block-device', '5': 'directory', '6': 'fifo', g: 'pax-global-header',
};

export class TarFormatError extends Error {}

export class TarWalker<D> {
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** pax/GNU long-name records of the next member, kept until its header says where it goes. */
  private prefix: Buffer[] = [];
  private long?: { kind: string; size: number; want: number; parts: Buffer[]; have: number };
  private pax: Record<string, string> = {};
  private gnuName?: string;
  private gnuLink?: string;
  /** Body bytes (with padding) still to pass on, and where. */
  private body = 0;
  private dest?: D;
  private ended = false;
  private out = new Map<D, Buffer[]>();

  /** `route` names the destination of each member as its header is read. */
  constructor(private readonly route: (m: TarMember) => D) {}

  /** True once the end-of-archive block was read (what follows is ignored). */
  get atEnd(): boolean {
    return this.ended;
  }

  /** Read `chunk`; returns the bytes for each destination, in archive order. */
  push(chunk: Buffer): Map<D, Buffer[]> {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.body > 0) {
        const n = Math.min(this.body, chunk.length - at);
        this.emit(this.dest as D, chunk.subarray(at, at + n));
        this.body -= n;
        at += n;
      } else if (this.long) {
        at = this.readLong(chunk, at);
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.readHeader(Buffer.from(this.header));
        }
      }
    }
    const out = this.out;
    this.out = new Map();
    return out;
  }

  /** Throws unless the archive ended on a member boundary. */
  finish(): void {
    if (this.body > 0 || this.long || this.headerFill > 0 || this.prefix.length) throw new TarFormatError('unexpected end of the tar archive');
  }

  private emit(dest: D, bytes: Buffer): void {
    const list = this.out.get(dest);
    if (list) list.push(bytes);
    else this.out.set(dest, [bytes]);
  }

  private readHeader(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      if (this.prefix.length) throw new TarFormatError('the tar archive ends inside a member');
      this.ended = true;
      return;
    }
    if (checksum(block) !== octal(block, 148, 8)) throw new TarFormatError('invalid tar header checksum (is the tar corrupt, or compressed in an unknown format?)');
    const flag = String.fromCharCode(block[156]!);
    const size = sizeField(block);
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      if (size > MAX_LONG_RECORD) throw new TarFormatError(`a tar ${flag} record of ${size} bytes is too long`);
      this.prefix.push(block);
      this.long = { kind: flag, size, want: padded(size), parts: [], have: 0 };
      if (size === 0) this.endLong();
      return;
    }
    let type = TYPES[flag] ?? 'other';
    const name = this.pax.path ?? this.gnuName ?? ustarName(block);
    if (type === 'file' && flag !== '7' && name.endsWith('/')) type = 'directory';
    const linkname = this.pax.linkpath ?? this.gnuLink ?? cString(block, 157, 100);
    const bodySize = this.pax.size !== undefined ? Number(this.pax.size) : size;
    if (!Number.isSafeInteger(bodySize) || bodySize < 0) throw new TarFormatError(`invalid size in the tar header of ${name}`);
    this.pax = {};
    this.gnuName = this.gnuLink = undefined;
    const member: TarMember = { name, type, linkname, size: type === 'directory' ? 0 : bodySize };
    const dest = this.route(member);
    for (const p of this.prefix) this.emit(dest, p);
    this.prefix = [];
    this.emit(dest, block);
    // A directory's size field is not a body (as tar-stream reads it); every other member's is.
    this.body = type === 'directory' ? 0 : padded(bodySize);
    this.dest = dest;
  }

  private readLong(chunk: Buffer, at: number): number {
    const l = this.long!;
    const n = Math.min(l.want - l.have, chunk.length - at);
    const piece = chunk.subarray(at, at + n);
    l.parts.push(piece);
    l.have += n;
    if (l.have === l.want) this.endLong();
    return at + n;
  }

  private endLong(): void {
    const l = this.long!;
    this.long = undefined;
    const data = Buffer.concat(l.parts, l.have);
    this.prefix.push(data);
    const content = data.subarray(0, l.size);
    if (l.kind === 'x') Object.assign(this.pax, parsePax(content));
    else if (l.kind === 'L') this.gnuName = cString(content, 0, content.length);
    else this.gnuLink = cString(content, 0, content.length);
  }
}

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += block[i]!;
  return sum;
}

function octal(block: Buffer, at: number, len: number): number {
  const text = cString(block, at, len).trim();
  return text ? parseInt(text, 8) : 0;
}

/** The size field: octal, or base-256 (high bit set) for sizes over 8 GiB. */
function sizeField(block: Buffer): number {
  if (block[124]! & 0x80) {
    let v = 0;
    for (let i = 125; i < 136; i++) v = v * 256 + block[i]!;
    return v;
  }
  return octal(block, 124, 12);
}

function cString(buf: Buffer, at: number, len: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end === -1 || end > at + len ? at + len : end);
}

/** ustar's name: its prefix field (POSIX ustar magic only; GNU uses those bytes otherwise) + name. */
function ustarName(block: Buffer): string {
  const name = cString(block, 0, 100);
  const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
  const prefix = ustar ? cString(block, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** pax records: "LEN key=value\n" each. */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length && data[at] !== 0) {
    const space = data.indexOf(0x20, at);
    const len = parseInt(data.toString('latin1', at, space), 10);
    if (!(len > 0) || space === -1) throw new TarFormatError('invalid pax header in the tar archive');
    const record = data.toString('utf8', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}
