// GET /containers/json: the records sorted, filtered (Docker's filters, `ancestor=` by image) and
// summarized, with sizes on request; which containers use an image.
import type { ContainerSummary } from '../../api/types.js';
import { ContainerPart } from './context.js';
import { matchesContainerFilters, parseContainerFilters } from './filters.js';
import type { ContainerRecord } from './record.js';
import { summaryView } from './view.js';

export class ContainerLister extends ContainerPart {
  async imageSize(imageId: string): Promise<number> {
    try {
      return (await this.o.images.inspect(imageId)).Size;
    } catch {
      return 0;
    }
  }

  async list(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Record<string, string[]> }): Promise<ContainerSummary[]> {
    const filters = opts.filters ?? {};
    const f = parseContainerFilters(filters, (x) => this.store.tryGet(x));
    let recs = this.store.all().sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
    // As dockerd: a status filter (and a limit) lists stopped containers too; `exited` alone does not.
    const showAll = opts.all || (opts.limit ?? 0) > 0 || !!filters.status?.length;
    if (!showAll) recs = recs.filter((r) => r.state.status === 'running' || r.state.status === 'paused' || r.state.status === 'restarting');
    const ancestors = await this.ancestorIds(filters);
    const imageMatches = (r: ContainerRecord, ref: string) => r.imageRef === ref || ancestors.get(ref) === r.image;
    recs = recs.filter((r) => matchesContainerFilters(r, f, (img) => imageMatches(r, img)));
    if (opts.limit && opts.limit > 0) recs = recs.slice(0, opts.limit);
    return Promise.all(
      recs.map(async (r) => {
        if (!opts.size) return summaryView(r);
        const sizeRw = await this.o.snapshotter.usage(r.id);
        return summaryView(r, { sizeRw, sizeRootFs: sizeRw + (await this.imageSize(r.image)) });
      }),
    );
  }

  /** `ancestor=` names images: resolve each once per list call (by reference, ID or ID prefix). */
  private async ancestorIds(filters: Record<string, string[]>): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    for (const ref of filters.ancestor ?? []) {
      const img = await this.o.images.resolve(ref).catch(() => undefined);
      if (img) ids.set(ref, img.id);
    }
    return ids;
  }

  isRunningUser(imageId: string): { running?: string; stopped?: string } {
    const users = this.store.all().filter((c) => c.image === imageId);
    const running = users.find((c) => ['running', 'paused', 'restarting'].includes(c.state.status));
    const stopped = users.find((c) => !['running', 'paused', 'restarting'].includes(c.state.status));
    return { running: running?.id, stopped: stopped?.id };
  }
}
