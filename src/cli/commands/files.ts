// Files in and out of containers: cp, export, diff, commit (the copy rules themselves in ../copy.ts,
// shared with `compose cp`).
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { familiarName, parseNormalizedNamed, tagNameOnly } from '../../image-spec/reference.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import { copyFromContainer, copyToContainer, splitCpArg, toStdout } from '../copy.js';
import type { ParsedFlags } from '../flags.js';

const enc = encodeURIComponent;

async function cp(ctx: Context, f: ParsedFlags): Promise<number> {
  const [source = '', destination = ''] = f.args;
  if (source === '') throw new StatusError('source can not be empty', 1);
  if (destination === '') throw new StatusError('destination can not be empty', 1);
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  const base = {
    followLink: f.bool('follow-link'),
    copyUIDGID: f.bool('archive'),
    // Progress output only on a terminal, unless --quiet says otherwise.
    quiet: f.has('quiet') ? f.bool('quiet') : !ctx.stdout.isTTY,
  };
  if (src.container && dst.container) throw new StatusError('copying between containers is not supported', 1);
  if (src.container) await copyFromContainer(ctx, { ...base, container: src.container, sourcePath: src.path, destPath: dst.path });
  else if (dst.container) await copyToContainer(ctx, { ...base, container: dst.container, sourcePath: src.path, destPath: dst.path });
  else throw new StatusError('must specify at least one container source', 1);
  return 0;
}

async function exportContainer(ctx: Context, f: ParsedFlags): Promise<number> {
  const output = f.str('output');
  if (!output && ctx.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const res = await ctx.client().request({ path: `/containers/${enc(f.args[0]!)}/export` });
  if (!output) {
    await toStdout(ctx, res);
    return 0;
  }
  // Written next to the target and renamed: a failed export never leaves a truncated archive.
  const tmp = path.join(path.dirname(output), `.${path.basename(output)}.${process.pid}.tmp`);
  try {
    await pipeline(res, createWriteStream(tmp, { mode: 0o600 }));
    if (!res.complete) throw new StatusError('failed to export container: the archive was cut off', 1);
    await fs.rename(tmp, output);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  return 0;
}

async function diff(ctx: Context, f: ParsedFlags): Promise<number> {
  const name = f.args[0] ?? '';
  if (!name) throw new StatusError('Container name cannot be empty', 1);
  const changes = (await ctx.client().json<{ Path: string; Kind: number }[] | null>({ path: `/containers/${enc(name)}/changes` })) ?? [];
  const kinds = ['C', 'A', 'D'];
  await writeOut(ctx.stdout, changes.map((c) => `${kinds[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

async function commit(ctx: Context, f: ParsedFlags): Promise<number> {
  const [container = '', reference] = f.args;
  let repo = '';
  let tag = '';
  if (reference) {
    // As the docker client: parsed here, sent as repo and tag.
    let ref;
    try {
      ref = parseNormalizedNamed(reference);
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    }
    if (ref.digest) throw new StatusError('refusing to create a tag with a digest reference', 1);
    const tagged = tagNameOnly(ref);
    tag = tagged.tag ?? '';
    repo = familiarName(tagged);
  }
  const res = await ctx.client().json<{ Id: string }>({
    method: 'POST',
    path: '/commit',
    query: {
      container,
      repo,
      tag,
      comment: f.str('message'),
      author: f.str('author'),
      changes: f.list('change'),
      pause: f.has('pause') && !f.bool('pause') ? '0' : undefined,
    },
  });
  await writeOut(ctx.stdout, res.Id + '\n');
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  cp: {
    usage: 'CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
    description:
      "Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
    aliases: ['berth container cp', 'berth cp'],
    flags: [
      { name: 'archive', short: 'a', type: 'bool', description: 'Archive mode (copy all uid/gid information)' },
      { name: 'follow-link', short: 'L', type: 'bool', description: 'Always follow symbol link in SRC_PATH' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
    ],
    args: { min: 2, max: 2 },
    run: cp,
  },
  export: {
    usage: '[OPTIONS] CONTAINER',
    description: "Export a container's filesystem as a tar archive",
    aliases: ['berth container export', 'berth export'],
    flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
    args: { min: 1, max: 1 },
    run: exportContainer,
  },
  diff: {
    usage: 'CONTAINER',
    description: "Inspect changes to files or directories on a container's filesystem",
    aliases: ['berth container diff', 'berth diff'],
    flags: [],
    args: { min: 1, max: 1 },
    run: diff,
  },
  commit: {
    usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    description: "Create a new image from a container's changes",
    aliases: ['berth container commit', 'berth commit'],
    flags: [
      { name: 'author', short: 'a', type: 'string', description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
      { name: 'change', short: 'c', type: 'stringArray', valueName: 'list', description: 'Apply Dockerfile instruction to the created image' },
      { name: 'message', short: 'm', type: 'string', description: 'Commit message' },
      { name: 'pause', short: 'p', type: 'bool', default: true, description: 'Pause container during commit' },
    ],
    args: { min: 1, max: 2 },
    stopAtFirstArg: true,
    run: commit,
  },
};
