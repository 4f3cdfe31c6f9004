// The short syntax of a service volume, "[SOURCE:]TARGET[:MODE]", read as compose-go's format package
// does: a source starting with ".", "/" or "~" is a bind mount (host path created if missing, as
// docker-compose always did), anything else names a volume; a single part is an anonymous volume;
// modes are ro/rw, nocopy, z/Z (SELinux) and the bind propagations. ${...} keeps its colons.
import { ComposeError } from '../types.js';

export interface ShortVolume {
  type: 'bind' | 'volume';
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean };
}

const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

export function parseVolume(spec: string): ShortVolume {
  if (spec.length === 0) throw new ComposeError('invalid empty volume spec');
  if (spec.length <= 2) return { type: 'volume', target: spec };
  const vol: { source: string; target: string; modes: string | undefined } = { source: '', target: '', modes: undefined };
  const chars = [...spec];
  let buffer = '';
  let inVar = 0;
  const flush = (end: boolean): void => {
    if (buffer.length === 0) throw new ComposeError(`invalid spec: ${spec}: empty section between colons`);
    if (vol.source === '' && end) vol.target = buffer;
    else if (vol.source === '') vol.source = buffer;
    else if (vol.target === '') vol.target = buffer;
    else if (!end) throw new ComposeError(`invalid spec: ${spec}: too many colons`);
    else vol.modes = buffer;
    buffer = '';
  };
  for (let i = 0; i <= chars.length; i++) {
    const c = chars[i];
    if (c === '$' && chars[i + 1] === '{') {
      inVar++;
      buffer += c;
      continue;
    }
    if (c === '}' && inVar > 0) {
      inVar--;
      buffer += c;
      continue;
    }
    if (c === ':' && buffer.length === 1 && /\p{L}/u.test(buffer)) buffer += c; // a Windows drive letter
    else if ((c === ':' || c === undefined) && inVar === 0) flush(c === undefined);
    else if (c !== undefined) buffer += c;
  }
  return withType(vol.source, vol.target, vol.modes);
}

function withType(source: string, target: string, modes: string | undefined): ShortVolume {
  const out: ShortVolume = { type: 'volume', target };
  if (source) out.source = source;
  let bind: ShortVolume['bind'];
  for (const option of modes?.split(',') ?? []) {
    if (option === 'ro') out.read_only = true;
    else if (option === 'rw') out.read_only = false;
    else if (option === 'nocopy') out.volume = { nocopy: true };
    else if (PROPAGATIONS.includes(option)) (bind ??= {}).propagation = option;
    else if (option === 'z' || option === 'Z') (bind ??= {}).selinux = option;
    // other modes are ignored, as compose-go does
  }
  if (isFilePath(source)) {
    out.type = 'bind';
    out.bind = { ...bind, create_host_path: true };
    delete out.volume;
  } else {
    out.volume ??= {};
    if (out.read_only === false) delete out.read_only;
  }
  if (out.read_only === false) delete out.read_only;
  return out;
}

function isFilePath(source: string): boolean {
  if (!source) return false;
  if ('./~'.includes(source[0]!)) return true;
  if (source.startsWith('\\\\')) return true;
  const chars = [...source];
  return chars.length > 1 && /\p{L}/u.test(chars[0]!) && chars[1] === ':';
}
