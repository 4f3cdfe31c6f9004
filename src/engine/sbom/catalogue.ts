// The cataloguers (one file each) and the pass that runs them over one layer: every file a cataloguer
// wants is read once and turned into a fragment; whiteouts are noted. The result is what the per-layer
// cache keeps, so the version below changes whenever a cataloguer's output would.
import type { Fragment, LayerFacts } from './fragments.js';
import type { FileFilter, LayerFile, LayerView } from './view.js';
import { dpkgCataloguer } from './dpkg.js';
import { apkCataloguer } from './apk.js';
import { npmCataloguer } from './npm.js';
import { pythonCataloguer } from './python.js';
import { goCataloguer } from './gobinary.js';
import { osReleaseCataloguer } from './osrelease.js';

/** Bump when any cataloguer's output changes: cached layers of another version are read again. */
export const CATALOGUER_VERSION = 1;

export interface Cataloguer {
  name: string;
  /** Wanted by path alone (no leading slash). */
  wantsName(p: string): boolean;
  /** A candidate by path whose mode decides (executables). */
  wantsMode?(p: string): boolean;
  wantsFile?(p: string, mode: number, size: number): boolean;
  /** undefined: nothing of interest in this file. */
  parse(f: LayerFile): Promise<Fragment | undefined>;
}

export const CATALOGUERS: Cataloguer[] = [dpkgCataloguer, apkCataloguer, npmCataloguer, pythonCataloguer, goCataloguer, osReleaseCataloguer];

export function filterFor(cats: Cataloguer[]): FileFilter {
  return {
    wantsName: (p) => cats.some((c) => c.wantsName(p)),
    wantsMode: (p) => cats.some((c) => c.wantsMode?.(p)),
    wantsFile: (p, mode, size) => cats.some((c) => c.wantsMode?.(p) && c.wantsFile?.(p, mode, size)),
  };
}

/** Read one layer through its view. A file that cannot be parsed becomes a warning naming it. */
export async function catalogueLayer(view: LayerView, cats: Cataloguer[] = CATALOGUERS): Promise<LayerFacts> {
  const facts: LayerFacts = { fragments: {}, deleted: [], opaque: [] };
  await view.visit(filterFor(cats), {
    file: async (f) => {
      const cat = cats.find((c) => c.wantsName(f.path)) ?? cats.find((c) => c.wantsMode?.(f.path) && c.wantsFile?.(f.path, f.mode, f.size));
      if (!cat) return;
      try {
        const frag = await cat.parse(f);
        // Kept even when empty: this file hides whatever lower layers had at its path.
        facts.fragments[f.path] = frag ?? { kind: 'none' };
      } catch (e) {
        facts.fragments[f.path] = { kind: 'unreadable', warnings: [`/${f.path}: could not be read (${(e as Error).message})`] };
      }
    },
    deleted: (p) => facts.deleted.push(p),
    opaque: (d) => facts.opaque.push(d),
  });
  return facts;
}
