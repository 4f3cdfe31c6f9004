// Go binaries: the build information the Go linker embeds (what `go version -m` prints). Since Go 1.18
// the `.go.buildinfo` section starts with a 32-byte header — "\xff Go buildinf:", pointer size, flags
// (bit 1: strings inline) — followed by two varint-prefixed strings: the Go version and the module
// info ("path", "mod", "dep" and "=>" replacement lines between 16-byte sentinels). The file is
// streamed and searched for the header at 16-byte alignment, so it works on tar streams too.
import type { Cataloguer } from './catalogue.js';
import type { Fragment, RawPackage } from './fragments.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
/** The 16-byte sentinels around the module info (cmd/go/internal/modload's infoStart/infoEnd). Some
 *  distributed binaries (esbuild's npm packages) have the header above blanked but keep these. */
const GO_SECTIONS = new Set(['.go.buildinfo', '.gopclntab', '.note.go.buildid', '.data.rel.ro.gopclntab']);
const INFO_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const INFO_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
/** Bytes kept after a header so both strings can be read (module info of big programs is a few KiB). */
const TAIL = 256 * 1024;

/** Directories whose files are not programs (saves reading every file of an image). */
const NOT_PROGRAMS = /^(?:usr\/share|usr\/include|etc|var\/lib\/dpkg|var\/cache|var\/log|proc|sys|dev)\//;
const NOT_PROGRAM_EXT = /\.(?:py|pyc|js|mjs|cjs|ts|json|h|c|txt|md|gz|xz|bz2|zip|html|css|sh|pl|rb|conf|cfg|ini|yml|yaml)$/;

function uvarint(b: Buffer, at: number): [number, number] | undefined {
  let x = 0;
  let s = 0;
  for (let i = 0; i < 10 && at + i < b.length; i++) {
    const c = b[at + i]!;
    if (c < 0x80) return [x + c * 2 ** s, at + i + 1];
    x += (c & 0x7f) * 2 ** s;
    s += 7;
  }
  return undefined;
}

export interface GoBuildInfo {
  goVersion: string;
  path?: string;
  main?: { path: string; version: string };
  deps: { path: string; version: string }[];
}

/** The build info at `at` (a header), or undefined when it is not a Go ≥ 1.18 inline one. */
export function parseBuildInfoAt(b: Buffer, at: number): GoBuildInfo | undefined {
  if (b.length < at + 32 || !b.subarray(at, at + 14).equals(MAGIC)) return undefined;
  const flags = b[at + 15]!;
  if ((flags & 0x2) === 0) return undefined; // Go < 1.18: pointers into the data segment
  const v = uvarint(b, at + 32);
  if (!v || v[1] + v[0] > b.length) return undefined;
  const goVersion = b.subarray(v[1], v[1] + v[0]).toString('utf8');
  if (!goVersion.startsWith('go')) return undefined;
  const m = uvarint(b, v[1] + v[0]);
  if (!m || m[1] + m[0] > b.length) return undefined;
  let mod = b.subarray(m[1], m[1] + m[0]).toString('latin1');
  if (mod.length >= 33 && mod[mod.length - 17] === '\n') mod = mod.slice(16, -16);
  return { goVersion, ...parseModInfo(Buffer.from(mod, 'latin1').toString('utf8')) };
}

/** The module info between its sentinels at `at` (no header: the Go version is unknown). */
export function parseBareModInfo(b: Buffer, at: number): GoBuildInfo | undefined {
  if (!b.subarray(at, at + 16).equals(INFO_START)) return undefined;
  const end = b.indexOf(INFO_END, at + 16);
  if (end < 0) return undefined;
  const text = b.subarray(at + 16, end).toString('utf8');
  if (!text.startsWith('path\t')) return undefined;
  return { goVersion: '', ...parseModInfo(text) };
}

export function parseModInfo(text: string): Omit<GoBuildInfo, 'goVersion'> {
  const out: Omit<GoBuildInfo, 'goVersion'> = { deps: [] };
  let last: { path: string; version: string } | undefined;
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'path') out.path = f[1];
    else if (f[0] === 'mod' && f[1]) last = out.main = { path: f[1], version: f[2] ?? '' };
    else if (f[0] === 'dep' && f[1]) {
      last = { path: f[1], version: f[2] ?? '' };
      out.deps.push(last);
    } else if (f[0] === '=>' && last && f[1]) {
      // A replaced module: the replacement is what was built.
      last.path = f[1];
      last.version = f[2] ?? '';
    }
  }
  return out;
}

/** Search a stream for the build info header (16-byte aligned), keeping enough after it to parse. A
 *  module info without its header (found first: runtime.modinfo's copy lies in read-only data, before
 *  the header's section) is used only when no header turns up. */
export async function scanGoBinary(chunks: AsyncIterable<Buffer>): Promise<GoBuildInfo | undefined> {
  interface Capture {
    bare: boolean;
    parts: Buffer[];
    len: number;
  }
  let caps: Capture[] = [];
  let carry: Buffer = Buffer.alloc(0);
  let base = 0; // file offset of the current chunk
  let first = true;
  let done = false;
  let bareSeen = false;
  let fallback: GoBuildInfo | undefined;
  let found: GoBuildInfo | undefined;
  const seen = new Set<number>();
  const settle = (c: Capture): void => {
    const b = Buffer.concat(c.parts);
    if (c.bare) fallback ??= parseBareModInfo(b, 0);
    else if (!found) found = parseBuildInfoAt(b, 0);
  };
  for await (const c of chunks) {
    if (done) continue; // drain (a tar stream must be read to its end)
    if (first) {
      first = false;
      if (!c.subarray(0, 4).equals(ELF)) {
        done = true;
        continue;
      }
    }
    for (const cap of caps) {
      cap.parts.push(c);
      cap.len += c.length;
    }
    const window = carry.length ? Buffer.concat([carry, c]) : c;
    const wbase = base - carry.length;
    for (let i = window.indexOf(MAGIC); i >= 0; i = window.indexOf(MAGIC, i + 1)) {
      if ((wbase + i) % 16 !== 0 || seen.has(wbase + i)) continue;
      seen.add(wbase + i);
      caps.push({ bare: false, parts: [window.subarray(i)], len: window.length - i });
    }
    if (!bareSeen) {
      const j = window.indexOf(INFO_START);
      if (j >= 0) {
        bareSeen = true;
        caps.push({ bare: true, parts: [window.subarray(j)], len: window.length - j });
      }
    }
    caps = caps.filter((cap) => (cap.len >= TAIL ? (settle(cap), false) : true));
    if (found) done = true;
    carry = window.subarray(Math.max(0, window.length - 15));
    base += c.length;
  }
  for (const cap of caps) settle(cap);
  return found ?? fallback;
}

/** Go's own stdlib as a package ("go1.21.5" → v1.21.5), the name vulnerability databases use. */
function stdlibVersion(goVersion: string): string {
  const m = /^go(\d+(?:\.\d+)*)(.*)$/.exec(goVersion.split(/\s/)[0]!);
  if (!m) return goVersion;
  const parts = m[1]!.split('.');
  while (parts.length < 3) parts.push('0');
  return 'v' + parts.join('.') + (m[2] ? '-' + m[2] : '');
}

/**
 * Whether an ELF file has a section only Go's linker makes (.go.buildinfo, .gopclntab, .note.go.buildid),
 * from its section headers (a few small reads):
 * false spares reading a whole non-Go program; undefined when it cannot tell (no section headers).
 */
export async function hasGoSection(readAt: (offset: number, length: number) => Promise<Buffer>): Promise<boolean | undefined> {
  const h = await readAt(0, 64);
  if (h.length < 52 || !h.subarray(0, 4).equals(ELF)) return false;
  const is64 = h[4] === 2;
  const le = h[5] === 1;
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const uN = (b: Buffer, o: number) => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  const shoff = uN(h, is64 ? 0x28 : 0x20);
  const shentsize = u16(h, is64 ? 0x3a : 0x2e);
  const shnum = u16(h, is64 ? 0x3c : 0x30);
  const shstrndx = u16(h, is64 ? 0x3e : 0x32);
  if (!shoff || !shnum || shstrndx >= shnum || shentsize < (is64 ? 64 : 40) || shnum > 4096) return undefined;
  const table = await readAt(shoff, shnum * shentsize);
  if (table.length < shnum * shentsize) return undefined;
  const section = (i: number) => ({ name: u32(table, i * shentsize), offset: uN(table, i * shentsize + (is64 ? 0x18 : 0x10)), size: uN(table, i * shentsize + (is64 ? 0x20 : 0x14)) });
  const strtab = section(shstrndx);
  if (strtab.size > 1 << 20) return undefined;
  const names = await readAt(strtab.offset, strtab.size);
  for (let i = 0; i < shnum; i++) {
    const n = section(i).name;
    const end = names.indexOf(0, n);
    if (GO_SECTIONS.has(names.subarray(n, end < 0 ? undefined : end).toString('latin1'))) return true;
  }
  return false;
}

export function goPackages(info: GoBuildInfo): RawPackage[] {
  const out: RawPackage[] = [];
  // A GOPATH-mode build names only its package path: the main module is then "(devel)", as Go says.
  const main = info.main ?? (info.path ? { path: info.path, version: '(devel)' } : undefined);
  if (main) out.push({ name: main.path, version: main.version });
  for (const d of info.deps) out.push({ name: d.path, version: d.version });
  if (info.goVersion) out.push({ name: 'stdlib', version: stdlibVersion(info.goVersion) });
  return out;
}

export const goCataloguer: Cataloguer = {
  name: 'go',
  wantsName: () => false,
  wantsMode: (p) => !NOT_PROGRAMS.test(p) && !NOT_PROGRAM_EXT.test(p),
  wantsFile: (_p, mode, size) => (mode & 0o111) !== 0 && size > 64 * 1024,
  async parse(f): Promise<Fragment | undefined> {
    if (f.readAt && (await hasGoSection(f.readAt)) === false) return undefined;
    const info = await scanGoBinary(f.chunks());
    return info ? { kind: 'go', packages: goPackages(info) } : undefined;
  },
};
