// The overlay snapshotter for the contract suite: its constructor, and what a prepare a crash cut
// short leaves (a temporary directory, or a snapshot directory without its `parent` record).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { OverlaySnapshotter } from '../../src/engine/snapshots/overlay.js';

export function make(root: string): OverlaySnapshotter {
  return new OverlaySnapshotter(root);
}

export async function halfPrepare(root: string, key: string): Promise<void> {
  await fs.mkdir(path.join(root, 'snapshots', key, 'upper'), { recursive: true });
  await fs.mkdir(path.join(root, 'snapshots', `${key}.tmp-0123456789ab`, 'upper'), { recursive: true });
}
