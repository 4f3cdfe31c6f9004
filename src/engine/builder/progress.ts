// What a build tells its client while it runs, in one of two forms:
// - classic: the legacy builder's lines (`Step 3/9 : RUN …`, ` ---> Using cache`, RUN output, ` ---> <id>`,
//   `Successfully built …`) as `{stream}` messages: what the docker CLI's `DOCKER_BUILDKIT=0 docker build` prints.
// - vertex (berth's CLI asks for it): one vertex per step with its log and sub-tasks, the messages of
//   api/build-progress.ts, as BuildKit reports its vertices; berth's CLI draws them (cli/build-progress.ts).
import type { JSONMessage } from '../../api/types.js';
import { LOG_MESSAGE, STATUS_MESSAGE, VERTEX_MESSAGE, type StatusAux, type VertexAux } from '../../api/build-progress.js';
import type { Instruction } from './frontend/dockerfile.js';
import { normalizedString, parseImageReference } from '../../image-spec/reference.js';

export type ProgressMode = 'classic' | 'vertex';

interface StageLike {
  index: number;
  name?: string;
  from: Instruction;
  instructions: Instruction[];
}

/** The vertices of one build: numbering and naming, and the switch between the two forms. */
export class BuildVertices {
  private next: number;
  private readonly multiStage: boolean;
  /** Classic lines come stage by stage in Dockerfile order, as the legacy builder (one stage at a time)
   *  printed them: a stage's lines wait until the stages before it have ended. The stages still run at
   *  the same time; only their lines are held. */
  private order: number[] = [];
  private readonly held = new Map<number, string[]>();
  private readonly ended = new Set<number>();

  constructor(
    readonly mode: ProgressMode,
    private readonly progress: (m: JSONMessage) => void,
    /** The Dockerfile's steps (the stages the target needs). */
    private readonly steps: number,
    /** All the Dockerfile's stages: BuildKit names the stage in a step's name when there are several. */
    private readonly stages: StageLike[],
  ) {
    this.next = steps + 1;
    this.multiStage = stages.length > 1;
  }

  /** A line of the classic form only (`Step …`, ` ---> …`, `Successfully built …`). */
  classic(text: string): void {
    if (this.mode === 'classic') this.progress({ stream: text });
  }

  /** The stages that run (their indexes, in Dockerfile order): their classic lines come in that order. */
  runs(stages: number[]): void {
    this.order = [...stages].sort((a, b) => a - b);
  }

  /** A classic line of one stage's step: now when the stages before it have ended, else held till then. */
  classicOf(stage: number, text: string): void {
    if (this.mode !== 'classic') return;
    if (!this.order.length || stage === this.order[0]) this.progress({ stream: text });
    else this.held.set(stage, [...(this.held.get(stage) ?? []), text]);
  }

  /** A stage ended: the next stages' held lines follow. */
  stageEnded(stage: number): void {
    this.ended.add(stage);
    while (this.order.length && this.ended.has(this.order[0]!)) {
      this.order.shift();
      this.release(this.order[0]);
    }
  }

  /** Every held line, in stage order (the build ends, maybe with an error to show after them). */
  releaseAll(): void {
    for (const stage of this.order) this.release(stage);
    this.order = [];
  }

  private release(stage: number | undefined): void {
    if (stage === undefined) return;
    for (const text of this.held.get(stage) ?? []) this.progress({ stream: text });
    this.held.delete(stage);
  }

  /** The vertex of an instruction of a stage (its FROM shows `from`, an image as BuildKit does: its full name). */
  step(s: StageLike, inst: Instruction, step: number, opts: { from?: string; trigger?: boolean } = {}): StepVertex {
    const label = this.multiStage ? `${s.name ?? `stage-${s.index}`} ` : '';
    const n = s.instructions.length + 1;
    let where: string;
    if (opts.trigger) where = `[${label}onbuild]`;
    else {
      const k = inst === s.from ? 1 : s.instructions.indexOf(inst) + 2;
      where = `[${label}${String(k).padStart(String(n).length)}/${n}]`;
    }
    const text = inst === s.from && opts.from ? `FROM ${this.imageName(opts.from)}` : inst.original;
    const number = opts.trigger ? this.next++ : step;
    return new StepVertex(this, s.index, { step: number, total: this.total(), stage: s.name ?? s.index, name: `${where} ${text}` });
  }

  /** The last vertex: the image written and named. */
  exporting(): StepVertex {
    const step = this.next++;
    return new StepVertex(this, -1, { step, total: step, stage: '', name: 'exporting to image' });
  }

  private imageName(ref: string): string {
    if (ref === 'scratch' || this.stages.some((st) => st.name === ref.toLowerCase())) return ref;
    try {
      return normalizedString(parseImageReference(ref));
    } catch {
      return ref;
    }
  }

  send(m: JSONMessage): void {
    this.progress(m);
  }

  private total(): number {
    return Math.max(this.steps + 1, this.next);
  }
}

const attributed = new WeakSet<object>();

/** What the builder says of one step: classic lines or vertex messages, as the build's mode wants. */
export class StepVertex {
  private started?: string;
  private completed?: string;
  private cachedHit = false;
  private error?: string;
  private canceled = false;
  private missed?: string;

  constructor(
    private readonly build: BuildVertices,
    /** Its stage's index (-1: the build's own last step), for the order of classic lines. */
    private readonly stageIndex: number,
    private readonly base: Pick<VertexAux, 'step' | 'total' | 'stage' | 'name'>,
  ) {}

  /** A classic line of this step, in its stage's turn. */
  classic(text: string): void {
    if (this.stageIndex < 0) this.build.classic(text);
    else this.build.classicOf(this.stageIndex, text);
  }

  private get vertex(): boolean {
    return this.build.mode === 'vertex';
  }

  private emit(): void {
    const aux: VertexAux = { ...this.base, started: this.started };
    if (this.completed) aux.completed = this.completed;
    if (this.cachedHit) aux.cached = true;
    if (this.error !== undefined) aux.error = this.error;
    if (this.canceled) aux.canceled = true;
    if (this.missed) aux.miss = this.missed;
    this.build.send({ id: VERTEX_MESSAGE, aux: aux as unknown as Record<string, unknown> });
  }

  /** The step begins its work (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = new Date().toISOString();
    if (this.vertex) this.emit();
  }

  /** A cache hit: the step's result is reused. */
  cached(): void {
    this.cachedHit = true;
    this.classic(' ---> Using cache\n');
  }

  /** A cache miss and why. */
  miss(why: string): void {
    this.classic(` ---> Cache miss: ${why}\n`);
    if (!this.vertex) return;
    this.start();
    this.missed = why;
    this.emit();
  }

  /** Output of the step (RUN's stdout and stderr, a pull's progress). */
  log(data: string): void {
    if (!data) return;
    if (this.vertex) this.build.send({ id: LOG_MESSAGE, aux: { step: this.base.step, data, time: new Date().toISOString() } });
    else this.classic(data);
  }

  /** A sub-task of the step, done (vertex form only). */
  status(id: string, started: Date, completed = new Date()): void {
    if (!this.vertex) return;
    const aux: StatusAux = { step: this.base.step, id, started: started.toISOString(), completed: completed.toISOString() };
    this.build.send({ id: STATUS_MESSAGE, aux: aux as unknown as Record<string, unknown> });
  }

  /** A JSON message sink for the step (a pull's `{stream}` lines become its log). */
  relay(progress: (m: JSONMessage) => void): (m: JSONMessage) => void {
    return (m) => (m.stream !== undefined ? this.log(m.stream) : progress(m));
  }

  done(): void {
    if (this.completed) return;
    this.start();
    this.completed = new Date().toISOString();
    if (this.vertex) this.emit();
  }

  fail(e: unknown): void {
    if (this.completed) return;
    this.start();
    this.completed = new Date().toISOString();
    this.error = e instanceof Error ? e.message : String(e);
    // One error fails one step; the steps that waited on it (FROM <stage>, COPY --from) are canceled.
    if (typeof e === 'object' && e !== null) {
      if (attributed.has(e)) this.canceled = true;
      else attributed.add(e);
    }
    if (this.vertex) this.emit();
  }

  /** The step's work: done when it settles, failed with its error when it throws. */
  async track<T>(work: Promise<T>): Promise<T> {
    const r = await this.guard(work);
    this.done();
    return r;
  }

  /** Part of the step's work: the step fails with its error when it throws. */
  async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (e) {
      this.fail(e);
      throw e;
    }
  }
}
