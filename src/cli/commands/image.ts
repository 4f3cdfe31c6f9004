// Image verbs: images, import, load, save, tag, rmi, history.
import { createReadStream, createWriteStream, renameSync, unlinkSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { HistoryItem, ImageSummary } from '../../api/types.js';
import { ApiError } from '../../client/errors.js';
import { renderJSONMessages } from '../../client/jsonmessage.js';
import { copyStream } from '../../lib/stdcopy.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { filtersJSON } from '../filters.js';
import { historyListing, imageListing } from '../format/images.js';
import { renderListing, truncateID } from '../format/table.js';
import { imagePath } from '../api-paths.js';

async function images(ctx: Context, f: ParsedFlags): Promise<number> {
  const filters = [...f.list('filter')];
  if (f.args[0]) filters.push(`reference=${f.args[0]}`);
  const list = await ctx.client().json<ImageSummary[]>({
    path: '/images/json',
    query: { all: f.bool('all') || undefined, filters: filtersJSON(filters) },
  });
  const trunc = !f.bool('no-trunc');
  if (f.bool('quiet')) {
    const ids = [...new Set(list.map((i) => (trunc ? truncateID(i.Id) : i.Id)))];
    await writeOut(ctx.stdout, ids.map((id) => id + '\n').join(''));
    return 0;
  }
  await writeOut(ctx.stdout, renderListing(imageListing(list, { trunc, digests: f.bool('digests') }), f.str('format')));
  return 0;
}

async function history(ctx: Context, f: ParsedFlags): Promise<number> {
  const items = await ctx.client().json<HistoryItem[]>({ path: `/images/${imagePath(f.args[0] ?? '')}/history` });
  const trunc = !f.bool('no-trunc');
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, items.map((h) => (trunc && h.Id !== '<missing>' ? truncateID(h.Id) : h.Id) + '\n').join(''));
    return 0;
  }
  await writeOut(ctx.stdout, renderListing(historyListing(items, { trunc, human: f.bool('human') }), f.str('format')));
  return 0;
}

/** Render a JSON progress answer (load, import); raw text when the daemon did not send JSON. */
async function showProgress(ctx: Context, res: Readable & { headers?: Record<string, unknown> }): Promise<void> {
  const type = String(res.headers?.['content-type'] ?? '');
  if (!type.includes('json')) {
    await copyStream(res, ctx.stdout);
    return;
  }
  await renderJSONMessages(res, ctx.stdout, { tty: !!ctx.stdout.isTTY });
}

async function load(ctx: Context, f: ParsedFlags): Promise<number> {
  const file = f.str('input');
  if (!file && ctx.stdin.isTTY) throw new StatusError('requested load from stdin, but stdin is empty', 1);
  const input = file ? createReadStream(file) : ctx.stdin;
  const res = await ctx.client().request({ method: 'POST', path: '/images/load', query: { quiet: f.bool('quiet') }, input });
  await showProgress(ctx, res);
  return 0;
}

async function importImage(ctx: Context, f: ParsedFlags): Promise<number> {
  const [source = '', ref] = f.args;
  const isURL = /^https?:\/\//.test(source);
  const input = isURL ? undefined : source === '-' ? ctx.stdin : createReadStream(source);
  const res = await ctx.client().request({
    method: 'POST',
    path: '/images/create',
    query: {
      fromSrc: isURL ? source : '-',
      repo: ref,
      message: f.str('message') || undefined,
      changes: f.list('change').length ? f.list('change') : undefined,
      platform: f.str('platform') || undefined,
    },
    input: input ?? Buffer.alloc(0),
  });
  await showProgress(ctx, res);
  return 0;
}

async function save(ctx: Context, f: ParsedFlags): Promise<number> {
  const output = f.str('output');
  if (!output && ctx.stdout.isTTY)
    throw new StatusError('Cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const res = await ctx.client().request({ path: '/images/get', query: { names: f.args } });
  if (!output) {
    await copyStream(res, ctx.stdout);
    return 0;
  }
  // Write next to the target and rename, so a failed save never leaves a truncated archive behind.
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    await pipeline(res, createWriteStream(tmp));
    renameSync(tmp, output);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
    throw err;
  }
  return 0;
}

/** "repo[:tag]" → repo and tag ("latest" when absent), as the docker client sends them. */
export function splitReference(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

async function tag(ctx: Context, f: ParsedFlags): Promise<number> {
  const [source = '', target = ''] = f.args;
  const { repo, tag: t } = splitReference(target);
  await ctx.client().call({ method: 'POST', path: `/images/${imagePath(source)}/tag`, query: { repo, tag: t } });
  return 0;
}

async function rmi(ctx: Context, f: ParsedFlags): Promise<number> {
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      const deleted = await ctx.client().json<{ Untagged?: string; Deleted?: string }[]>({
        method: 'DELETE',
        path: `/images/${imagePath(name)}`,
        query: { force: f.bool('force') || undefined, noprune: f.bool('no-prune') || undefined },
      });
      const lines = deleted.map((d) => (d.Deleted ? `Deleted: ${d.Deleted}` : `Untagged: ${d.Untagged ?? ''}`));
      await writeOut(ctx.stdout, lines.map((l) => l + '\n').join(''));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      errors.push(`Error response from daemon: ${err.message}`);
    }
  }
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

const FORMAT = { name: 'format', type: 'string', description: 'Format output using a custom template' } as const;
const NO_TRUNC = { name: 'no-trunc', type: 'bool', description: "Don't truncate output" } as const;

export const commands: Record<string, CommandSpec> = {
  images: {
    usage: '[OPTIONS] [REPOSITORY[:TAG]]',
    description: 'List images',
    aliases: ['berth image ls', 'berth image list', 'berth images'],
    flags: [
      { name: 'all', short: 'a', type: 'bool', description: 'Show all images (default hides intermediate images)' },
      { name: 'digests', type: 'bool', description: 'Show digests' },
      { name: 'filter', short: 'f', type: 'stringArray', valueName: 'filter', description: 'Filter output based on conditions provided' },
      FORMAT,
      NO_TRUNC,
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    ],
    args: { max: 1 },
    run: images,
  },
  history: {
    usage: '[OPTIONS] IMAGE',
    description: 'Show the history of an image',
    flags: [
      FORMAT,
      { name: 'human', short: 'H', type: 'bool', default: true, description: 'Print sizes and dates in human readable format' },
      NO_TRUNC,
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only show image IDs' },
    ],
    args: { min: 1, max: 1 },
    run: history,
  },
  load: {
    usage: '[OPTIONS]',
    description: 'Load an image from a tar archive or STDIN',
    flags: [
      { name: 'input', short: 'i', type: 'string', description: 'Read from tar archive file, instead of STDIN' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Suppress the load output' },
    ],
    args: { max: 0 },
    run: load,
  },
  import: {
    usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    description: 'Import the contents from a tarball to create a filesystem image',
    flags: [
      { name: 'change', short: 'c', type: 'stringArray', description: 'Apply Dockerfile instruction to the created image' },
      { name: 'message', short: 'm', type: 'string', description: 'Set commit message for imported image' },
      { name: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
    ],
    args: { min: 1, max: 2 },
    run: importImage,
  },
  save: {
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    flags: [{ name: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' }],
    args: { min: 1 },
    run: save,
  },
  tag: {
    usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    flags: [],
    args: { min: 2, max: 2 },
    run: tag,
  },
  rmi: {
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Remove one or more images',
    aliases: ['berth image rm', 'berth image remove', 'berth rmi'],
    flags: [
      { name: 'force', short: 'f', type: 'bool', description: 'Force removal of the image' },
      { name: 'no-prune', type: 'bool', description: 'Do not delete untagged parents' },
    ],
    args: { min: 1 },
    run: rmi,
  },
};
