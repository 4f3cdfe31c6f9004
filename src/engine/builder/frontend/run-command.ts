// What a RUN runs (its argv, with heredocs as BuildKit feeds them) and how its history entry reads.
import type { Instruction } from './dockerfile.js';

/** Where a RUN heredoc script is mounted (BuildKit's place). */
export const PIPES = '/dev/pipes';

/** What a RUN runs: its argv, and the heredoc it runs as a script file, if any. */
export function runCommand(inst: Instruction, shell: string[]): { argv: string[]; script?: Instruction['heredocs'][number] } {
  const heredoc = inst.heredocs[0];
  const onlyHeredoc = heredoc && /^<<-?\s*["']?\w+["']?\s*$/.test(inst.args);
  // A lone heredoc with a #! line is a script, run by the shell as a file (so by its interpreter), mounted
  // read-only at /dev/pipes/<name> for this step only: as BuildKit does.
  const script = onlyHeredoc && heredoc.body.startsWith('#!') ? heredoc : undefined;
  // A command with heredocs (`cat <<EOF > f`) goes to the shell whole, its documents after it: the shell
  // expands them (unless the delimiter is quoted) and feeds each to its command, as BuildKit has it.
  const command = inst.args + inst.heredocs.map((h) => `\n${h.body}${h.name}`).join('');
  return { argv: inst.json ?? [...shell, script ? `${PIPES}/${script.name}` : onlyHeredoc ? heredoc.body : command], script };
}

/** A RUN's history entry (created_by). */
export function runHistory(inst: Instruction, argv: string[]): string {
  return `RUN ${inst.json ? JSON.stringify(inst.json) : argv.join(' ')} # buildkit`;
}
