// `berth scan db import|status|push|pull`: thin clients of berthd's /scan/db endpoints. An import streams
// the zip (or a tar of the directory) to berthd, which validates and indexes the OSV records; push and
// pull move the database as an OCI artifact through berthd's registry client.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { VulnDbMeta, VulnDbStatus } from '../../api/vulndb.js';
import { readText } from '../../client/engine.js';
import { renderJSONMessages } from '../../client/jsonmessage.js';
import { humanDuration, humanSize } from '../../lib/units.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { authHeader, parseRef } from '../pull.js';

/** A tar of the directory's *.json files, streamed as it is read (one file in memory at a time). */
function tarOfDirectory(dir: string): Readable {
  const pack = tarStream.pack();
  const walk = async (d: string): Promise<void> => {
    const entries = await fsp.readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) {
        const data = await fsp.readFile(p);
        await new Promise<void>((resolve, reject) => pack.entry({ name: path.relative(dir, p), size: data.length }, data, (err) => (err ? reject(err) : resolve())));
      }
    }
  };
  walk(dir).then(
    () => pack.finalize(),
    (e: Error) => pack.destroy(e),
  );
  // tar-stream's pack is a streamx stream: wrap it so the client pipes it like any Node stream.
  return Readable.from(pack as unknown as AsyncIterable<Buffer>);
}

function ecosystemTable(counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1));
  const w = Math.max(9, ...rows.map(([e]) => e.length)) + 3;
  return ['ECOSYSTEM'.padEnd(w) + 'RECORDS', ...rows.map(([e, n]) => e.padEnd(w) + n)].join('\n') + '\n';
}

function skippedLine(m: VulnDbMeta): string {
  const parts = Object.entries(m.skipped).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}

async function importCmd(ctx: Context, f: ParsedFlags): Promise<number> {
  const input = f.args[0]!;
  let st: fs.Stats;
  try {
    st = await fsp.stat(input);
  } catch {
    throw new StatusError(`open ${input}: no such file or directory`, 1);
  }
  const source = f.str('source') || path.basename(path.resolve(input));
  const body: Readable = st.isDirectory() ? tarOfDirectory(input) : fs.createReadStream(input);
  const res = await ctx.client().request({ method: 'POST', path: '/scan/db/import', query: { source }, input: body, contentType: st.isDirectory() ? 'application/x-tar' : 'application/octet-stream' });
  const meta = JSON.parse(await readText(res as Readable)) as VulnDbMeta;
  if (f.str('format') === 'json') {
    await writeOut(ctx.stdout, JSON.stringify(meta, null, 2) + '\n');
    return 0;
  }
  let out = `Imported ${meta.records} records from ${meta.source} (${meta.files} files read; skipped: ${skippedLine(meta)})\n`;
  out += ecosystemTable(meta.ecosystems);
  if (meta.skippedExamples.length) out += `Skipped records, e.g.:\n${meta.skippedExamples.slice(0, 3).map((s) => `  ${s}`).join('\n')}\n`;
  await writeOut(ctx.stdout, out);
  return 0;
}

async function statusCmd(ctx: Context, f: ParsedFlags): Promise<number> {
  const st = await ctx.client().json<VulnDbStatus>({ path: '/scan/db' });
  if (f.str('format') === 'json') {
    await writeOut(ctx.stdout, JSON.stringify(st, null, 2) + '\n');
    return 0;
  }
  let out = `Source:     ${st.source}\n`;
  out += `Imported:   ${st.importedAt} (${humanDuration(st.ageSeconds * 1000)} ago)\n`;
  if (st.pulledAt) out += `Pulled:     ${st.pulledAt}\n`;
  out += `Records:    ${st.records}\n`;
  out += `Packages:   ${st.packages}\n`;
  out += `Size:       ${humanSize(st.sizeBytes)}\n`;
  out += `Skipped:    ${skippedLine(st)}\n`;
  out += `Path:       ${st.path}\n\n`;
  out += ecosystemTable(st.ecosystems);
  await writeOut(ctx.stdout, out);
  return 0;
}

function transfer(verb: 'push' | 'pull') {
  return async (ctx: Context, f: ParsedFlags): Promise<number> => {
    const ref = f.args[0]!;
    const named = parseRef(ref);
    const res = await ctx.client().request({ method: 'POST', path: `/scan/db/${verb}`, query: { ref }, headers: authHeader(ctx, named.domain) });
    await renderJSONMessages(res as Readable, ctx.stdout, { tty: !!ctx.stdout.isTTY });
    return 0;
  };
}

const FORMAT = { name: 'format', type: 'string' as const, description: 'Output format: "json" (default: a summary and a table)' };

export const commands: Record<string, CommandSpec> = {
  'scan db import': {
    usage: 'FILE|DIR',
    description: "Import a vulnerability database: a zip of OSV records (as osv.dev's per-ecosystem all.zip), a tar, or a directory of OSV JSON files",
    args: { min: 1, max: 1 },
    flags: [{ name: 'source', type: 'string', description: 'Name shown as the source by `scan db status` (default: the file name)' }, FORMAT],
    run: importCmd,
  },
  'scan db status': {
    usage: '[OPTIONS]',
    description: 'Show the vulnerability database: source, age, record counts per ecosystem',
    args: { max: 0 },
    flags: [FORMAT],
    run: statusCmd,
  },
  'scan db push': {
    usage: 'REF',
    description: 'Push the vulnerability database to a registry as an OCI artifact',
    args: { min: 1, max: 1 },
    flags: [],
    run: transfer('push'),
  },
  'scan db pull': {
    usage: 'REF',
    description: 'Pull a vulnerability database pushed with `berth scan db push` and make it the active one',
    args: { min: 1, max: 1 },
    flags: [],
    run: transfer('pull'),
  },
};
