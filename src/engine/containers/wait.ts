// POST /containers/{id}/wait and the service's own waits: a container's next exit (the exit bus),
// Docker's conditions not-running, next-exit and removed.
import { ContainerPart } from './context.js';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';
export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

export class ContainerWaits extends ContainerPart {
  nextExit(id: string): Promise<number> {
    return new Promise((resolve) => this.bus.once(`exit:${id}`, resolve));
  }

  /** moby's ContainerWait: an unknown container fails now (before any reply); `result` is the wait. */
  waitFor(ref: string, condition: WaitCondition): { result: Promise<WaitResult> } {
    const rec = this.store.get(ref);
    return { result: this.wait(rec.id, condition) };
  }

  async wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const rec = this.store.get(ref);
    const running = ['running', 'paused', 'restarting'].includes(rec.state.status);
    if (condition === 'not-running' && !running) return { StatusCode: rec.state.exitCode, Error: null };
    if (condition === 'removed') {
      const code = await new Promise<number>((resolve) => {
        let last = rec.state.exitCode;
        const onExit = (c: number) => (last = c);
        this.bus.on(`exit:${rec.id}`, onExit);
        this.bus.once(`removed:${rec.id}`, () => {
          this.bus.off(`exit:${rec.id}`, onExit);
          resolve(last);
        });
      });
      return { StatusCode: code, Error: null };
    }
    const code = await this.nextExit(rec.id);
    return { StatusCode: code, Error: null };
  }
}
