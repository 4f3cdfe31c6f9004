// Go binaries: the build information the Go linker embeds (what `go version -m` prints). Since Go 1.18
// the `.go.buildinfo` section starts with a 32-byte header — "\xff Go buildinf:", pointer size, flags
// (bit 1: strings inline) — followed by two varint-prefixed strings: the Go version and the module
// info ("path", "mod", "dep" and "=>" replacement lines between 16-byte sentinels). The file is
// streamed and searched for the header at 16-byte alignment, so it works on tar streams too.
import type { Cataloguer } from './catalogue.js';
import type { Fragment, RawPackage } from './fragments.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
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

/** Search a stream for the build info header (16-byte aligned), keeping enough after it to parse. */
export async function scanGoBinary(chunks: AsyncIterable<Buffer>): Promise<GoBuildInfo | undefined> {
  let buf: Buffer = Buffer.alloc(0);
  let base = 0; // file offset of buf[0]
  let first = true;
  let done = false;
  let found: GoBuildInfo | undefined;
  let pending = -1; // offset in buf of a header waiting for more bytes
  for await (const c of chunks) {
    if (done) continue; // drain (a tar stream must be read to its end)
    if (first) {
      first = false;
      if (!c.subarray(0, 4).equals(ELF)) {
        done = true;
        continue;
      }
    }
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    let from = 0;
    for (;;) {
      if (pending >= 0) {
        if (buf.length - pending < TAIL) break;
        found = parseBuildInfoAt(buf, pending);
        if (found) {
          done = true;
          break;
        }
        from = pending + 1;
        pending = -1;
      }
      let i = buf.indexOf(MAGIC, from);
      while (i >= 0 && (base + i) % 16 !== 0) i = buf.indexOf(MAGIC, i + 1);
      if (i < 0) {
        const keep = Math.min(buf.length, 32);
        base += buf.length - keep;
        buf = buf.subarray(buf.length - keep);
        break;
      }
      base += i;
      buf = buf.subarray(i);
      pending = 0;
      from = 0;
    }
  }
  if (!done && pending >= 0) found = parseBuildInfoAt(buf, pending);
  return found;
}

/** Go's own stdlib as a package ("go1.21.5" → v1.21.5), the name vulnerability databases use. */
function stdlibVersion(goVersion: string): string {
  const m = /^go(\d+(?:\.\d+)*)(.*)$/.exec(goVersion.split(/\s/)[0]!);
  if (!m) return goVersion;
  const parts = m[1]!.split('.');
  while (parts.length < 3) parts.push('0');
  return 'v' + parts.join('.') + (m[2] ? '-' + m[2] : '');
}

export function goPackages(info: GoBuildInfo): RawPackage[] {
  const out: RawPackage[] = [];
  if (info.main) out.push({ name: info.main.path, version: info.main.version });
  for (const d of info.deps) out.push({ name: d.path, version: d.version });
  out.push({ name: 'stdlib', version: stdlibVersion(info.goVersion) });
  return out;
}

export const goCataloguer: Cataloguer = {
  name: 'go',
  wantsName: () => false,
  wantsMode: (p) => !NOT_PROGRAMS.test(p) && !NOT_PROGRAM_EXT.test(p),
  wantsFile: (_p, mode, size) => (mode & 0o111) !== 0 && size > 64 * 1024,
  async parse(f): Promise<Fragment | undefined> {
    const info = await scanGoBinary(f.chunks());
    return info ? { kind: 'go', packages: goPackages(info) } : undefined;
  },
};
