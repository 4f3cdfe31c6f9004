// SBOM output shared by `berth sbom` and `berth build --sbom`: the --format check, the table, the
// documents (converters in src/api/sbom-formats.ts, loaded only for those formats) and atomic files.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SBOM_FORMATS, type ImageSbom, type SbomFormat } from '../api/sbom.js';
import { StatusError, writeOut, type Context } from './command.js';
import { renderCells } from './format/table.js';
import { imagePath } from './api-paths.js';

export function checkFormat(format: string): SbomFormat {
  if (!(SBOM_FORMATS as readonly string[]).includes(format)) {
    throw new StatusError(`invalid --format "${format}": use one of ${SBOM_FORMATS.join(', ')}`, 1);
  }
  return format as SbomFormat;
}

/** The table: one row per package; LAYER is the layer's position and the start of its diff ID. */
export function sbomTable(s: ImageSbom): string {
  const rows = s.packages.map((p) => [p.name, p.version, p.type, `${p.layer.index} ${p.layer.diffId.replace('sha256:', '').slice(0, 12)}`]);
  return renderCells(['NAME', 'VERSION', 'TYPE', 'LAYER'], rows);
}

/** The document in `format` (the converters live in src/api, shared with berthd and the scanner). */
export async function renderSbom(s: ImageSbom, format: SbomFormat): Promise<string> {
  switch (format) {
    case 'table':
      return sbomTable(s);
    case 'json':
      return JSON.stringify(s, null, 2) + '\n';
    case 'cyclonedx-json': {
      const f = await import('../api/sbom-formats.js');
      const text = f.toCycloneDxJson(s);
      await f.validateCycloneDx(text);
      return text;
    }
    case 'spdx-json':
      return (await import('../api/sbom-formats.js')).toSpdxJson(s);
  }
}

/** Write `text` to `file` whole or not at all. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new StatusError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`, 1);
  }
}

/** `berth build --sbom`: the built image's SBOM as CycloneDX JSON in `file`, a line on stderr saying so. */
export async function writeBuildSbom(ctx: Context, imageId: string, file: string): Promise<void> {
  const s = await ctx.client().json<ImageSbom>({ path: `/images/${imagePath(imageId)}/sbom` });
  await writeFileAtomic(file, await renderSbom(s, 'cyclonedx-json'));
  for (const w of s.warnings) await writeOut(ctx.stderr, `WARNING: ${w}\n`);
  await writeOut(ctx.stderr, `SBOM: ${s.packages.length} packages written to ${file}\n`);
}

