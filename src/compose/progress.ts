// What compose operations report while they work: one line per resource ("Container app-web-1",
// "Network app_default"), each moving through statuses ("Creating" → "Created"). The command line
// decides how to draw it (Compose v2's "[+] Running 4/4" block on a terminal, plain lines off one);
// the operations only emit events.
export type ProgressState = 'working' | 'done' | 'warning' | 'error';

export interface ProgressEvent {
  /** "Container app-web-1", "Network app_default", "Volume app_data", "Image web" */
  id: string;
  /** "Creating", "Created", "Starting", "Started", "Healthy", "Waiting", "Recreate", "Running", … */
  status: string;
  state: ProgressState;
  /** Extra words shown after the status (why a container was recreated, an error). */
  text?: string;
  /** Sub-events belong to a parent line (image layers under "Image x"). */
  parent?: string;
}

export interface Progress {
  event(e: ProgressEvent): void;
  /** A line of its own (warnings, "Attaching to …"). */
  info(line: string): void;
}

/** For callers that want no output (tests, --quiet-pull). */
export const silentProgress: Progress = { event: () => undefined, info: () => undefined };
