// The image configuration JSON (OCI image-spec config.json, Docker's image JSON): what an image's
// config blob holds, as images, the builder, commit and archives read and write it.
import type { ImageRuntimeConfig } from './types.js';

export interface OciImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  container?: string;
  container_config?: ImageRuntimeConfig;
  docker_version?: string;
  comment?: string;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}
