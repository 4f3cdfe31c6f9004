// berth's build progress messages (its own, beside Docker's JSONMessage shapes): what berthd sends when
// berth's CLI asks for them with the header `X-Berth-Build-Progress: vertex` — one vertex per build step, as
// BuildKit reports its vertices, so that the steps of stages running at the same time stay apart. Each is
// a JSONMessage whose `id` says the kind and whose `aux` holds the payload:
//   {id: 'berth.build.vertex', aux: VertexAux}   the step's whole state so far (sent when it changes)
//   {id: 'berth.build.log',    aux: LogAux}      output of a step (RUN's stdout and stderr, a pull)
//   {id: 'berth.build.status', aux: StatusAux}   a sub-task of a step ("writing image sha256:…")
// The final `{aux: {ID}}`, `{stream}` text that belongs to no step (warnings) and `{error, errorDetail}`
// are as in the classic stream. Times are ISO 8601 strings from berthd's clock.

/** The header berth's CLI sends to get vertex messages instead of the classic builder's lines. */
export const BUILD_PROGRESS_HEADER = 'X-Berth-Build-Progress';

export const VERTEX_MESSAGE = 'berth.build.vertex';
export const LOG_MESSAGE = 'berth.build.log';
export const STATUS_MESSAGE = 'berth.build.status';

export interface VertexAux {
  /** The vertex's number: the Dockerfile's instructions in order (FROM included, as `Step N/M` counts
   *  them), then ONBUILD triggers and the final "exporting to image". */
  step: number;
  /** The vertices the build expects (its steps and the export); triggers may add some. */
  total: number;
  /** The stage's name, or its index when it has none ('' for the export). */
  stage: string | number;
  /** The step as BuildKit names it: "[build 2/3] RUN make". */
  name: string;
  started?: string;
  completed?: string;
  cached?: true;
  error?: string;
  /** The step stopped because another one failed (the error is that step's). */
  canceled?: true;
  /** berth's own: why the step's cache missed (the first input that differs from the last build). */
  miss?: string;
}

export interface LogAux {
  step: number;
  data: string;
  time: string;
}

export interface StatusAux {
  step: number;
  id: string;
  started?: string;
  completed?: string;
}
