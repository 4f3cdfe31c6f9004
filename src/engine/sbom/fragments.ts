// What one layer contributes to the inventory, per file: a cataloguer reads one file of one layer and
// returns a fragment. Fragments are cached per layer (keyed by diff ID) and merged across layers in
// assemble.ts, where the upper layer's file wins and whiteouts remove what lies below.
import type { Distro, PackageType } from '../../api/sbom.js';

/** A package as found in one file, before the layers are merged (no purl, no layer yet). */
export interface RawPackage {
  name: string;
  version: string;
  sourceName?: string;
  sourceVersion?: string;
  arch?: string;
  licenses?: string[];
  files?: string[];
  /** npm lock entries: the path (in the image, no leading slash) where the package would be installed. */
  installedAt?: string;
}

export type FragmentKind = 'none' | 'unreadable' | 'dpkg-status' | 'dpkg-list' | 'copyright' | 'apk' | 'npm' | 'npm-lock' | 'python' | 'go' | 'os-release';

export interface Fragment {
  kind: FragmentKind;
  /** The packages this file lists (a package database, a package.json, a Go binary's build info). */
  packages?: RawPackage[];
  /** dpkg's info/<pkg>.list: the files a package owns. */
  files?: string[];
  /** A machine-readable copyright file's licenses. */
  licenses?: string[];
  distro?: Distro;
  /** What could not be read in this file (it is named in the warning). */
  warnings?: string[];
}

/** Everything one layer holds that the inventory cares about; what the per-layer cache stores. */
export interface LayerFacts {
  /** Path in the layer (no leading slash) → what was read there. */
  fragments: Record<string, Fragment>;
  /** Paths the layer deletes (whiteouts), no leading slash. */
  deleted: string[];
  /** Directories the layer makes opaque (nothing below them from lower layers survives). */
  opaque: string[];
}

export const PACKAGE_TYPE: Partial<Record<FragmentKind, PackageType>> = {
  'dpkg-status': 'deb',
  apk: 'apk',
  npm: 'npm',
  'npm-lock': 'npm',
  python: 'pypi',
  go: 'go',
};
