// Docker's stdout/stderr multiplexing lives in lib/stdcopy (the engine reframes exec streams with it).
export { frame } from '../lib/stdcopy.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
