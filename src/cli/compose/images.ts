// `berth compose images [OPTIONS] [SERVICE...]`: the image of each of the project's containers.
import { canonicalName } from '../../compose/ps.js';
import { SERVICE } from '../../compose/labels.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { FormatError, imageIDs, renderImages, type ContainerImage } from './format.js';
import { toProjectName } from './target.js';

/** "busybox:latest" → ["busybox", "latest"]; a digest reference has no tag. */
export function splitRepoTag(ref: string): [string, string] {
  const at = ref.indexOf('@');
  if (at >= 0) return [ref.slice(0, at), ''];
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, ''];
}

async function images(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const format = f.str('format') || 'table';
  const backend = ctx.backend();
  const containers = (await backend.containers(await toProjectName(ctx), { all: true })).filter(
    (c) => !f.args.length || f.args.includes(c.Labels?.[SERVICE] ?? ''),
  );
  const inspected = new Map<string, Promise<ContainerImage | undefined>>();
  const list: ContainerImage[] = [];
  for (const c of containers) {
    if (!inspected.has(c.ImageID)) {
      inspected.set(
        c.ImageID,
        backend.inspectImage(c.ImageID).then((img) => {
          if (!img) return undefined;
          const [repo, tag] = img.RepoTags?.[0] ? splitRepoTag(img.RepoTags[0]) : ['', ''];
          return { ID: img.Id, ContainerName: '', Repository: repo, Tag: tag, Size: img.Size };
        }),
      );
    }
    const img = await inspected.get(c.ImageID);
    if (!img) throw new ComposeError(`failed to retrieve image for container ${canonicalName(c)}`);
    list.push({ ...img, ContainerName: canonicalName(c) });
  }
  if (f.bool('quiet')) {
    await writeOut(ctx.stdout, imageIDs(list));
    return 0;
  }
  try {
    await writeOut(ctx.stdout, renderImages(list, format));
  } catch (err) {
    if (err instanceof FormatError) throw new ComposeError(err.message);
    throw err;
  }
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  images: {
    usage: '[OPTIONS] [SERVICE...]',
    description: 'List images used by the created containers',
    flags: [
      { name: 'format', type: 'string', default: 'table', description: 'Format the output. Values: [table | json]' },
      { name: 'quiet', short: 'q', type: 'bool', description: 'Only display IDs' },
    ],
    run: images,
  },
};
