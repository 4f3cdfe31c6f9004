// @deprecated transitional: builder split. src/engine/builder/builder.ts still imports the overlay
// implementation under its old name from here (it calls mount/unmount/upperDir/keys and `layers`);
// once it uses types.ts's Snapshotter with mount.ts, this file goes (or becomes the interface's home).
export type { OverlaySnapshotter as Snapshotter } from './overlay.js';
