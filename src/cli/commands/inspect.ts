// `inspect`, `container inspect`, `image inspect`: the raw JSON, indented as docker prints it, or
// rendered with -f/--format against that raw JSON.
import { ApiError } from '../../client/errors.js';
import type { EngineClient } from '../../client/engine.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { imagePath } from '../api-paths.js';
import { renderInspect } from '../format/inspect.js';

type Kind = 'container' | 'image' | 'network' | 'volume';

async function fetchObject(client: EngineClient, kind: Kind, name: string, size: boolean): Promise<unknown> {
  if (kind === 'container')
    return client.json<unknown>({ path: `/containers/${encodeURIComponent(name)}/json`, query: { size: size || undefined } });
  if (kind === 'network') return client.json<unknown>({ path: `/networks/${encodeURIComponent(name)}` });
  if (kind === 'volume') return client.json<unknown>({ path: `/volumes/${encodeURIComponent(name)}` });
  return client.json<unknown>({ path: `/images/${imagePath(name)}/json` });
}

async function findObject(client: EngineClient, kinds: Kind[], name: string, size: boolean): Promise<unknown> {
  for (const kind of kinds) {
    try {
      return await fetchObject(client, kind, name, size);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      if (kinds.length === 1) throw err;
    }
  }
  throw new ApiError(404, `No such object: ${name}`);
}

const inspectWith = (fixed?: Kind) => async (ctx: Context, f: ParsedFlags): Promise<number> => {
  const type = fixed ?? f.str('type');
  const all: Kind[] = ['container', 'image', 'network', 'volume'];
  if (type && !all.includes(type as Kind)) throw new StatusError(`"${type}" is not a valid value for --type`, 1);
  const kinds: Kind[] = type ? [type as Kind] : all;
  const objects: unknown[] = [];
  const errors: string[] = [];
  for (const name of f.args) {
    try {
      objects.push(await findObject(ctx.client(), kinds, name, f.bool('size')));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      errors.push(kinds.length === 1 ? `Error: No such ${kinds[0]}: ${name}` : `Error: No such object: ${name}`);
    }
  }
  await writeOut(ctx.stdout, renderInspect(objects, f.str('format')));
  if (errors.length) throw new StatusError(errors.join('\n'), 1);
  return 0;
};

const FORMAT: FlagSpec = { name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' };
const SIZE: FlagSpec = { name: 'size', short: 's', type: 'bool', description: 'Display total file sizes if the type is container' };

export const commands: Record<string, CommandSpec> = {
  inspect: {
    usage: '[OPTIONS] NAME|ID [NAME|ID...]',
    description: 'Return low-level information on Docker objects',
    flags: [FORMAT, SIZE, { name: 'type', type: 'string', description: 'Return JSON for specified type' }],
    args: { min: 1 },
    run: inspectWith(),
  },
  'container inspect': {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description: 'Display detailed information on one or more containers',
    flags: [FORMAT, SIZE],
    args: { min: 1 },
    run: inspectWith('container'),
  },
  'image inspect': {
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    description: 'Display detailed information on one or more images',
    flags: [FORMAT],
    args: { min: 1 },
    run: inspectWith('image'),
  },
};
