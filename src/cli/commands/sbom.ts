// `berth sbom IMAGE`: the package inventory of an image (berthd's GET /images/{name}/sbom), as a table
// (NAME VERSION TYPE LAYER), berth's JSON, CycloneDX 1.5 JSON or SPDX 2.3 JSON; `-o FILE` writes it to a
// file (atomically), `--attach REF` pushes it to a registry as an OCI 1.1 referrer of REF's manifest.
// `--input ARCHIVE` reads an image archive (`docker save` tar) instead of a stored image.
import path from 'node:path';
import type { ImageSbom } from '../../api/sbom.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { imagePath } from '../api-paths.js';
import { authHeader, parseRef } from '../pull.js';
import { checkFormat, renderSbom, writeFileAtomic } from '../sbom-output.js';
import { normalizedName } from '../../image-spec/reference.js';
import { openPrivateKey, signReference } from '../trust.js';

async function sbom(ctx: Context, f: ParsedFlags): Promise<number> {
  const format = checkFormat(f.str('format') || 'table');
  const input = f.str('input');
  const attach = f.str('attach');
  // `--attach REF` alone: the stored image tagged REF (pushed there before).
  const image = f.args[0] ?? (attach && !input ? attach : undefined);
  if (!input === !image) throw new StatusError(`"${ctx.cmdPath}" requires exactly one of IMAGE or --input ARCHIVE.`, 1);
  if (f.str('key') && !attach) throw new StatusError('--key signs an attached SBOM: use it with --attach REF', 1);
  if (attach && input) throw new StatusError('--attach works on a stored image, not on --input', 1);
  if (attach) {
    const named = parseRef(attach);
    // --key (or BERTH_TRUST_KEY): the attachment is signed here, as `berth trust sign` signs; the key is
    // opened before anything is pushed.
    const keyFile = f.str('key') || ctx.env.BERTH_TRUST_KEY;
    const key = keyFile ? await openPrivateKey(ctx, keyFile) : undefined;
    const r = await ctx.client().json<{ digest: string; subject: string; artifactType: string }>({
      method: 'POST',
      path: `/images/${imagePath(image!)}/sbom/attach`,
      query: { ref: attach },
      headers: authHeader(ctx, named.domain),
    });
    await writeOut(ctx.stderr, `Attached SBOM ${r.digest} (${r.artifactType}) to ${attach}@${r.subject}\n`);
    if (key) {
      const signed = await signReference(ctx, key, `${normalizedName(named)}@${r.digest}`);
      await writeOut(ctx.stderr, `Signed SBOM ${r.digest} with ${keyFile}: ${signed.DockerReference}:${signed.Tag}${signed.Referrer ? ` and referrer ${signed.Referrer}` : ''}\n`);
    }
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
      { name: 'key', type: 'string', description: 'With --attach: sign the attached SBOM with this private key (NAME.key; default BERTH_TRUST_KEY)' },
      { name: 'input', type: 'string', description: 'Read an image archive (docker save) instead of a stored image' },
    ],
    args: { max: 1 },
    run: sbom,
  },
};
