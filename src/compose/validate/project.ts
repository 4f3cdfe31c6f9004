// Checks on the whole loaded project that a schema cannot express: depends_on naming no service,
// cycles, services with neither image nor build, undefined networks/volumes/secrets/configs.
// FIRST CUT: cycles only; the validation work completes it. Keep the signature.
import { checkCycles } from '../graph.js';
import type { Project } from '../types.js';

export function checkProject(project: Project): void {
  checkCycles(project.services);
}
