// The snapshotter contract against the overlay snapshotter (real overlayfs: run as root).
import { snapshotterSuite } from './snapshotter.js';
import { halfPrepare, make } from './overlay.js';

snapshotterSuite('overlay', { make, halfPrepare, makeModule: new URL('./overlay.js', import.meta.url).href });
