// `berth sbom IMAGE`: the package inventory of an image (berthd's GET /images/{name}/sbom), as a table
// (NAME VERSION TYPE LAYER), berth's JSON, CycloneDX 1.5 JSON or SPDX 2.3 JSON; `-o FILE` writes it to a
// file (atomically), `--attach REF` pushes it to a registry as an OCI 1.1 referrer of REF's manifest.
// `--input ARCHIVE` reads an image archive (`docker save` tar) instead of a stored image.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SBOM_FORMATS, type ImageSbom, type SbomFormat } from '../../api/sbom.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { renderCells } from '../format/table.js';
import { imagePath } from '../api-paths.js';
import { authHeader, parseRef } from '../pull.js';

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
      const f = await import('../../api/sbom-formats.js');
      const text = f.toCycloneDxJson(s);
      await f.validateCycloneDx(text);
      return text;
    }
    case 'spdx-json':
      return (await import('../../api/sbom-formats.js')).toSpdxJson(s);
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

async function sbom(ctx: Context, f: ParsedFlags): Promise<number> {
  const format = checkFormat(f.str('format') || 'table');
  const input = f.str('input');
  const attach = f.str('attach');
  // `--attach REF` alone: the stored image tagged REF (pushed there before).
  const image = f.args[0] ?? (attach && !input ? attach : undefined);
  if (!input === !image) throw new StatusError(`"${ctx.cmdPath}" requires exactly one of IMAGE or --input ARCHIVE.`, 1);
  if (attach && input) throw new StatusError('--attach works on a stored image, not on --input', 1);
  if (attach) {
    const named = parseRef(attach);
    const r = await ctx.client().json<{ digest: string; subject: string; artifactType: string }>({
      method: 'POST',
      path: `/images/${imagePath(image!)}/sbom/attach`,
      query: { ref: attach },
      headers: authHeader(ctx, named.domain),
    });
    await writeOut(ctx.stderr, `Attached SBOM ${r.digest} (${r.artifactType}) to ${attach}@${r.subject}\n`);
    if (!f.str('output') && !f.has('format')) return 0;
  }
  const s = input
    ? await ctx.client().json<ImageSbom>({ path: '/sbom', query: { archive: path.resolve(input) } })
    : await ctx.client().json<ImageSbom>({ path: `/images/${imagePath(image!)}/sbom` });
  const text = await renderSbom(s, format);
  for (const w of s.warnings) await writeOut(ctx.stderr, `WARNING: ${w}\n`);
  const out = f.str('output');
  if (out) await writeFileAtomic(out, text);
  else await writeOut(ctx.stdout, text);
  return 0;
}

export const commands: Record<string, CommandSpec> = {
  sbom: {
    usage: '[OPTIONS] IMAGE | --input ARCHIVE | --attach REF [IMAGE]',
    description: 'List the packages in an image (a software bill of materials)',
    flags: [
      { name: 'format', type: 'string', default: 'table', description: 'Output format: table, json, cyclonedx-json (CycloneDX 1.5) or spdx-json (SPDX 2.3)' },
      { name: 'output', short: 'o', type: 'string', description: 'Write to a file instead of STDOUT' },
      { name: 'attach', type: 'string', description: 'Push the SBOM (CycloneDX) to a registry as an OCI referrer of this image reference' },
      { name: 'input', type: 'string', description: 'Read an image archive (docker save) instead of a stored image' },
    ],
    args: { max: 1 },
    run: sbom,
  },
};
