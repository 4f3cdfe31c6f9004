// The graph of operations the frontend makes of a Dockerfile, as LLB has it: each instruction becomes an
// op of one kind (a source, an exec, a file op, a metadata op, or an ARG that only moves the key), whose
// inputs are the op before it in its stage and the stages it names (COPY --from, RUN --mount from). Its
// vertex digest — the cache key — is the hash of its definition and its inputs' digests: the parent's
// key, the instruction as written, the build args it sees and, for COPY/ADD, the digest of the content
// it copies (known only when the solver reaches it, as BuildKit computes a file op's content checksum).
import { createHash } from 'node:crypto';
import type { Instruction } from './dockerfile.js';

export type OpKind = 'source' | 'exec' | 'file' | 'meta' | 'arg';

/** One vertex of the graph: the instruction, its kind, its step number, and the stages it reads. */
export interface Op {
  kind: OpKind;
  inst: Instruction;
  /** `Step N/M`: Dockerfile order across the needed stages (0 for ONBUILD triggers). */
  step: number;
  /** Stage references other than the parent (COPY --from, RUN --mount from=), as written. */
  reads: string[];
}

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export function opKind(inst: Instruction): OpKind {
  switch (inst.name) {
    case 'FROM':
      return 'source';
    case 'RUN':
      return 'exec';
    case 'COPY':
    case 'ADD':
    case 'WORKDIR': // makes the directory (BuildKit's mkdir file op)
      return 'file';
    case 'ARG':
      return 'arg';
    default:
      return 'meta';
  }
}

export function opOf(inst: Instruction, step: number): Op {
  const reads = [...(inst.flags.from ?? []), ...(inst.flags.mount ?? []).flatMap((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1] ?? [])];
  return { kind: opKind(inst), inst, step, reads };
}

/** What a step's vertex digest is made of, kept per Dockerfile step to explain the next miss. */
export interface StepInputs {
  parent: string;
  instruction: string;
  args: string;
  sources: string;
}

/** The source ops' digests: scratch, and an image by its ID. */
export const scratchDigest = (): string => sha('scratch');
export const imageDigest = (id: string): string => sha('image ' + id);

/** An ARG moves the key only (the args a later RUN sees are part of its own definition). */
export function argDigest(parent: string, args: Map<string, string>): string {
  return sha(parent + '\nARG ' + [...args].map(([k, v]) => `${k}=${v}`).join(' '));
}

/**
 * A step's inputs and vertex digest. `args` are the build args in scope (only RUN sees them), `shell` the
 * SHELL in force (only RUN runs it), `content` the digest of what COPY/ADD copies, `network` the build's
 * --network (a RUN under none or host is another step than on the bridge, as in BuildKit).
 */
export function stepDigest(parent: string, inst: Instruction, o: { args: Map<string, string>; shell: string[]; content?: string; network?: string }): { inputs: StepInputs; key: string } {
  const usedArgs = inst.name === 'RUN' ? [...o.args].map(([k, v]) => `${k}=${v}`).join(' ') : '';
  const shell = inst.name === 'RUN' ? o.shell : '';
  const inputs: StepInputs = { parent, instruction: JSON.stringify([inst.name, inst.args, inst.flags, inst.heredocs, shell]), args: usedArgs, sources: o.content ?? '' };
  const buildNet = inst.name === 'RUN' && o.network && !['default', 'bridge'].includes(o.network) ? [o.network] : [];
  const key = sha(JSON.stringify([inputs.parent, inst.name, inst.args, inst.flags, inst.heredocs, usedArgs, inputs.sources, shell, ...buildNet]));
  return { inputs, key };
}
