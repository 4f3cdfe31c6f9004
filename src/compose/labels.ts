// The labels Docker Compose v2 puts on what it creates. berth compose writes and reads the same ones,
// so each recognises the other's projects; a project's state is read from the engine by these labels.
export const PROJECT = 'com.docker.compose.project';
export const SERVICE = 'com.docker.compose.service';
export const CONTAINER_NUMBER = 'com.docker.compose.container-number';
export const ONEOFF = 'com.docker.compose.oneoff';
export const CONFIG_HASH = 'com.docker.compose.config-hash';
export const DEPENDS_ON = 'com.docker.compose.depends_on';
export const IMAGE = 'com.docker.compose.image';
export const CONFIG_FILES = 'com.docker.compose.project.config_files';
export const WORKING_DIR = 'com.docker.compose.project.working_dir';
export const ENVIRONMENT_FILE = 'com.docker.compose.project.environment_file';
export const VERSION = 'com.docker.compose.version';
export const NETWORK = 'com.docker.compose.network';
export const VOLUME = 'com.docker.compose.volume';
export const REPLACE = 'com.docker.compose.replace';
export const SLUG = 'com.docker.compose.slug';

/** The Compose version berth compose writes in `com.docker.compose.version` (the v2 it behaves as). */
export const COMPOSE_VERSION = '2.29.7';

/** `label=` filter values selecting one project (and optionally one service), for list requests. */
export function projectFilter(project: string, service?: string, oneoff?: boolean): string[] {
  const f = [`${PROJECT}=${project}`];
  if (service !== undefined) f.push(`${SERVICE}=${service}`);
  if (oneoff !== undefined) f.push(`${ONEOFF}=${oneoff ? 'True' : 'False'}`);
  return f;
}
