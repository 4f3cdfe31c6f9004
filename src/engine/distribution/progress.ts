// Docker's pull/push progress messages (jsonmessage): per-layer status lines keyed by a short ID, with a
// progress bar rendered as the docker CLI expects it in `progress`. Updates are throttled per layer.
import type { JSONMessage } from '../../api/types.js';
import { humanSize } from '../../lib/units.js';

export type Progress = (m: JSONMessage) => void;

const BAR_WIDTH = 50;
const THROTTLE_MS = 100;

/** jsonmessage.JSONProgress.String(): "[=====>      ]  1.2MB/3.4MB". */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return `${humanSize(current).padStart(8)}`;
  const filled = Math.min(BAR_WIDTH, Math.floor((BAR_WIDTH * current) / total));
  const bar = filled >= BAR_WIDTH ? '='.repeat(BAR_WIDTH) : '='.repeat(filled) + '>' + ' '.repeat(BAR_WIDTH - filled - 1);
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

export const shortId = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);

/** One layer's progress: status lines and throttled byte counts. */
export class LayerProgress {
  private current = 0;
  private last = 0;

  constructor(
    private readonly send: Progress,
    readonly id: string,
    private readonly total: number,
  ) {}

  status(status: string): void {
    this.send({ status, progressDetail: {}, id: this.id });
  }

  /** Count bytes moved under `action` ("Downloading", "Pushing", "Extracting"). */
  bytes(action: string, n: number): void {
    this.current += n;
    const now = Date.now();
    if (now - this.last < THROTTLE_MS && this.current < this.total) return;
    this.last = now;
    this.send({ status: action, progressDetail: { current: this.current, total: this.total }, progress: progressBar(this.current, this.total), id: this.id });
  }

  reset(): void {
    this.current = 0;
    this.last = 0;
  }
}
