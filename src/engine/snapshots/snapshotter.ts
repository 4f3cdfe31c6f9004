// The snapshotter interface, in containerd's manner (snapshots.Snapshotter): a snapshotter keeps
// snapshots of root filesystems and RETURNS the mounts that assemble one; the caller mounts them
// (snapshots/mount.ts) where it wants. Three kinds of snapshot:
//   - active: writable, made by prepare() over a parent, what a container or build step runs on;
//   - view: read-only, made by view() over a parent;
//   - committed: an immutable layer that can be a parent, made by commit() from an active snapshot.
// Parents are committed snapshots, named by their chain ID (the image layers' names in berth: pulled
// and loaded layers are committed snapshots too). The contract every implementation passes is
// test/contract/snapshotter.ts; the implementation is overlay.ts (docs/notes/snapshots.md).

/** A mount, as containerd's mount.Mount and the OCI runtime spec's: `mount -t type -o options source target`. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export type Kind = 'active' | 'view' | 'committed';

export interface Info {
  /** The key of an active or view snapshot; the chain ID of a committed one. */
  key: string;
  /** The committed snapshot it lies over (a chain ID), none for a snapshot of an empty filesystem. */
  parent?: string;
  kind: Kind;
}

export interface PrepareOptions {
  /** Docker's init layer between the parent and the writable layer: the mount points runc needs, created
   *  where the parent lacks them, so they never show in the snapshot's changes (a container's snapshot). */
  init?: boolean;
  /** Mounted with overlayfs's `volatile`: no sync of the upper dir, ever — not on fsync, not on the
   *  unmount (which otherwise writes back the whole upper file system, ~70 ms for 20 MB here). For a
   *  snapshot that lives only until its changes are committed (a build step): like every layer berth
   *  stores, a committed one is not synced either, and a crash removes an uncommitted one. */
  volatile?: boolean;
}

/** What commit() made: the committed snapshot's name (its chain ID) and the layer's digests and sizes. */
export interface Committed {
  chainId: string;
  diffId: string;
  /** Bytes of the layer's files. */
  size: number;
  /** Bytes of its uncompressed tar. */
  tarSize: number;
}

export interface Snapshotter {
  /** Recover after a crash (half-made snapshots go) and be ready; called once, before anything else. */
  init(): Promise<void>;
  /** A new active (writable) snapshot `key` over the committed `parent`; returns its mounts. */
  prepare(key: string, parent: string | undefined, opts?: PrepareOptions): Promise<Mount[]>;
  /** A new read-only snapshot `key` over the committed `parent`; returns its mounts. */
  view(key: string, parent: string | undefined): Promise<Mount[]>;
  /**
   * Commit the active snapshot `key`: its changes become a committed snapshot over its parent, and the
   * active snapshot is gone (containerd's Commit). Committed snapshots are content-addressed in berth
   * (named by chain ID, shared with images), so the name is the result, not an argument.
   */
  commit(key: string): Promise<Committed>;
  /** The mounts of an active or view snapshot (again: e.g. after a daemon restart). */
  mounts(key: string): Promise<Mount[]>;
  /** Delete an active or view snapshot, or a committed one no snapshot lies over (else an error). */
  remove(key: string): Promise<void>;
  /** Bytes an active snapshot added, as Docker counts SizeRw (files and symlinks, not directories). */
  usage(key: string): Promise<number>;
  /** Every snapshot. */
  walk(): Promise<Info[]>;
}
