// One long-lived worker thread that takes jobs by id: started on first use and kept, holding the process
// alive only while it has jobs; a worker that dies fails the jobs it had (the next job starts another).
// The protocol is the caller's: each job's handler sees the replies carrying its id until one ends it.
import { Worker, type Transferable } from 'node:worker_threads';

export interface JobHandler<Reply> {
  /** A reply for this job; true when it was the last. */
  reply(m: Reply): boolean;
  /** The worker died before the job ended. */
  fail(e: Error): void;
}

export class JobWorker<Request, Reply extends { id: number }> {
  private worker: Worker | undefined;
  private next = 0;
  private readonly jobs = new Map<number, JobHandler<Reply>>();

  /** `script`: the worker's module (the caller's own file, usually); `what` names it in errors. */
  constructor(
    private readonly script: URL,
    private readonly what: string,
  ) {}

  /** A new job's id: its replies go to `handler`. */
  open(handler: JobHandler<Reply>): number {
    const id = this.next++;
    this.jobs.set(id, handler);
    this.started().ref();
    return id;
  }

  /** A message for the worker (a job's start or more of its input). Dropped when the worker died since
   *  the job was opened: the job has failed, and a new worker would not know it. */
  post(m: Request, transfer?: Transferable[]): void {
    this.worker?.postMessage(m, transfer);
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.script);
    w.on('message', (m: Reply) => {
      const job = this.jobs.get(m.id);
      if (!job?.reply(m)) return;
      this.jobs.delete(m.id);
      if (!this.jobs.size) w.unref();
    });
    const gone = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const job of this.jobs.values()) job.fail(new Error(`${this.what}: ${e.message}`));
      this.jobs.clear();
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`the worker exited (${code})`)));
    this.worker = w;
    return w;
  }
}
