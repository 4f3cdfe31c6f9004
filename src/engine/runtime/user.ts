// User resolution inside a container's root filesystem, like Docker (moby/sys/user GetExecUserPath
// and GetAdditionalGroupsPath): "", "name", "uid", "name:group", "uid:gid", plus --group-add.
import { promises as fs } from 'node:fs';
import { secureJoin } from '../../lib/securejoin.js';
import { InvalidParameter } from '../../lib/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** What goes into the OCI spec, in Docker's order: the primary gid first, then the groups the user
   *  is listed in (only when no group was named), then --group-add. */
  additionalGids: number[];
  home?: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

const MAX_ID = 2147483647;
async function readInRootfs(rootfs: string, file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(await secureJoin(rootfs, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw e;
  }
}

function lines(text: string | undefined): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

export function parsePasswd(text: string | undefined): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: toInt(f[2]), gid: toInt(f[3]), home: f[5] ?? '' }));
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', gid: toInt(f[2]), members: (f[3] ?? '').split(',').filter((m) => m !== '') }));
}

function toInt(s: string | undefined): number {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

/** A decimal id, or undefined when the string is not purely numeric. */
function numericId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new InvalidParameter(`uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

function findUser(entries: PasswdEntry[], userArg: string): PasswdEntry | undefined {
  const uid = numericId(userArg);
  return entries.find((e) => e.name === userArg || (uid !== undefined && e.uid === uid));
}

function findGroup(entries: GroupEntry[], groupArg: string): GroupEntry | undefined {
  const gid = numericId(groupArg);
  return entries.find((g) => g.name === groupArg || (gid !== undefined && g.gid === gid));
}

function resolvePrimaryGroup(groups: GroupEntry[], groupArg: string): number {
  const g = findGroup(groups, groupArg);
  if (g) return g.gid;
  const gid = numericId(groupArg);
  if (gid === undefined) throw new InvalidParameter(`unable to find group ${groupArg}: no matching entries in group file`);
  return gid;
}

/** --group-add values: group names or numbers (numbers need not exist). */
function resolveGroupAdd(groups: GroupEntry[], groupAdd: readonly string[]): number[] {
  return groupAdd.map((ag) => {
    const g = findGroup(groups, ag);
    if (g) return g.gid;
    const gid = numericId(ag);
    if (gid === undefined) throw new InvalidParameter(`Unable to find group ${ag}: no matching entries in group file`);
    return gid;
  });
}

export async function resolveUser(rootfs: string, user: string | undefined, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const spec = user ?? '';
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  const [passwdText, groupText] = await Promise.all([readInRootfs(rootfs, '/etc/passwd'), readInRootfs(rootfs, '/etc/group')]);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);

  // Docker's defaults when the passwd file says nothing: root's ids and "/" as home.
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = '';
  const entry = findUser(passwd, userArg === '' ? '0' : userArg);
  if (entry) {
    ({ uid, gid, home, name } = entry);
  } else if (userArg !== '') {
    const n = numericId(userArg);
    if (n === undefined) throw new InvalidParameter(`unable to find user ${userArg}: no matching entries in passwd file`);
    uid = n;
  }

  let sgids: number[] = [];
  if (groupArg !== '') gid = resolvePrimaryGroup(groups, groupArg);
  else if (name !== '') sgids = groups.filter((g) => g.members.includes(name)).map((g) => g.gid);

  const added = resolveGroupAdd(groups, groupAdd);
  const additionalGids = [...new Set([gid, ...sgids, ...added])];
  return { uid, gid, additionalGids, home };
}
