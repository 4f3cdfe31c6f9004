// Wire types of berth's package inventory (SBOM): what `GET /images/{name}/sbom` answers and what the
// vulnerability scanner matches against. Shared by the engine (src/engine/sbom, src/engine/scan), the
// daemon's routes and the CLI.

/** Package kinds berth catalogues; also the purl type (`pkg:deb/...`, `pkg:golang/...` for go). */
export type PackageType = 'deb' | 'apk' | 'npm' | 'pypi' | 'go';

/** The layer that introduced a package: its position, diff ID and the Dockerfile step from history. */
export interface LayerRef {
  index: number;
  diffId: string;
  createdBy?: string;
}

export interface Package {
  name: string;
  version: string;
  type: PackageType;
  purl: string;
  /** Debian/Alpine: the source package (what Debian's advisories name) and its version. */
  sourceName?: string;
  sourceVersion?: string;
  arch?: string;
  licenses: string[];
  layer: LayerRef;
  /** Where the package was found: the database file, package.json, METADATA or binary (path in the image). */
  location: string;
  /** The files the package owns, where its database lists them. */
  files?: string[];
}

/** The operating system as /etc/os-release names it (ID, VERSION_ID), the key for OS advisories. */
export interface Distro {
  id: string;
  versionId?: string;
  prettyName?: string;
}

export interface ImageSbom {
  image: { id: string; repoTags: string[]; repoDigests: string[]; os: string; architecture: string };
  distro?: Distro;
  layers: LayerRef[];
  packages: Package[];
  /** A package database that could not be read, named with the reason; the rest is still listed. */
  warnings: string[];
  /** berth: where the packages were read from when that is worth saying (a scan of a remote image: the
   *  signed SBOM attached to it, or why its layers were fetched instead). */
  origin?: string;
}

/** What `berth sbom --format` writes (the converters are in sbom-formats.ts). */
export const SBOM_FORMATS = ['table', 'json', 'cyclonedx-json', 'spdx-json'] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];
