// `berth scan IMAGE`: a thin client of berthd's POST /images/{name}/scan (or POST /images/scan for
// `--input app.tar`), which answers a Trivy-shaped JSON report; here the filters the user's machine
// owns (the ignore file) are applied and the report is written as a table, JSON, SARIF or CycloneDX.
// `berth scan db …` is routed by main.ts to the database's commands.
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { allFindings, filterReport, parseSeverities, type ScanReport, type Severity } from '../../api/scan.js';
import { ENGINE_VERSION } from '../../api/version.js';
import { StatusError, writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { authHeader, parseRef } from '../pull.js';
import { activeRules, ignorer, IgnoreFileError, parseIgnoreFile, type IgnoreRule } from '../scan/ignorefile.js';
import { renderSarif } from '../scan/sarif.js';
import { renderTable } from '../scan/table.js';
import { sbomKeysHeader } from '../scan/attested.js';

const FORMATS = ['table', 'json', 'sarif', 'cyclonedx'] as const;
type Format = (typeof FORMATS)[number];
const DEFAULT_IGNOREFILE = '.berthignore';

interface Options {
  format: Format;
  severities?: Severity[];
  exitCode: number;
  ignoreUnfixed: boolean;
  rules: IgnoreRule[];
  output?: string;
  input?: string;
  src?: string;
}

/** Every flag checked before anything is sent to the daemon. */
async function options(ctx: Context, f: ParsedFlags): Promise<Options> {
  const format = (f.str('format') || 'table') as Format;
  if (!FORMATS.includes(format)) throw new StatusError(`invalid --format "${f.str('format')}": use ${FORMATS.join(', ')}`, 1);
  let severities: Severity[] | undefined;
  if (f.has('severity')) {
    try {
      severities = parseSeverities(f.str('severity'));
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    }
  }
  const exitCode = f.num('exit-code');
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) throw new StatusError(`invalid --exit-code ${exitCode}: use 0 to 255`, 1);
  const input = f.str('input') || undefined;
  if (!input && !f.args[0]) throw new StatusError(`"${ctx.cmdPath}" requires an IMAGE argument or --input FILE.`, 1);
  if (input && f.args[0]) throw new StatusError('give either an IMAGE or --input FILE, not both', 1);
  if (input) {
    try {
      const st = await fs.stat(input);
      if (!st.isFile()) throw new Error('not a file');
      await fs.access(input, fs.constants.R_OK);
    } catch (e) {
      throw new StatusError(`cannot read --input ${input}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (give a \`docker save\` / \`berth save\` archive)`, 1);
    }
  }
  let src = f.str('image-src') || undefined;
  if (f.bool('remote')) {
    if (f.has('image-src') && src !== 'remote') throw new StatusError('--remote and --image-src disagree: give one of them', 1);
    src = 'remote';
  }
  if (src) for (const s of src.split(',')) if (s !== 'local' && s !== 'remote') throw new StatusError(`invalid --image-src "${src}": use local, remote or local,remote`, 1);
  return { format, severities, exitCode, ignoreUnfixed: f.bool('ignore-unfixed'), rules: await ignoreRules(ctx, f), output: f.str('output') || undefined, input, src };
}

async function ignoreRules(ctx: Context, f: ParsedFlags): Promise<IgnoreRule[]> {
  const given = f.str('ignorefile');
  const file = given || DEFAULT_IGNOREFILE;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (!given && (e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StatusError(`cannot read ignore file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 1);
  }
  let rules: IgnoreRule[];
  try {
    rules = parseIgnoreFile(text, file);
  } catch (e) {
    if (e instanceof IgnoreFileError) throw new StatusError(e.message, 1);
    throw e;
  }
  const { active, expired } = activeRules(rules, new Date());
  for (const r of expired) ctx.stderr.write(`WARNING: ${file}:${r.line}: the entry for ${r.id} expired on ${r.expires!.toISOString().slice(0, 10)} and no longer ignores it\n`);
  return active;
}

async function fetchReport(ctx: Context, f: ParsedFlags, o: Options): Promise<ScanReport> {
  const query = { severity: o.severities?.join(','), ignoreUnfixed: o.ignoreUnfixed || undefined };
  if (o.input) {
    return ctx.client().json<ScanReport>({ method: 'POST', path: '/images/scan', query: { ...query, name: path.basename(o.input) }, input: createReadStream(o.input) });
  }
  const image = f.args[0]!;
  let headers: Record<string, string> | undefined;
  try {
    headers = authHeader(ctx, parseRef(image).domain);
  } catch {
    headers = undefined; // not a reference (an image ID): no registry to authenticate to
  }
  headers = { ...headers, ...sbomKeysHeader(ctx, f.list('key')) }; // attested SBOMs (cli/scan/attested.ts)
  return ctx.client().json<ScanReport>({
    method: 'POST',
    path: `/images/${image.split('/').map(encodeURIComponent).join('/')}/scan`,
    query: { ...query, src: o.src },
    headers,
  });
}

async function render(report: ScanReport, format: Format): Promise<string> {
  switch (format) {
    case 'table':
      return renderTable(report);
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'sarif':
      return JSON.stringify(renderSarif(report, ENGINE_VERSION), null, 2) + '\n';
    case 'cyclonedx': {
      // The CycloneDX library is loaded only for this format: it costs start-up time.
      const { renderCycloneDx } = await import('../scan/cyclonedx.js');
      return renderCycloneDx(report, ENGINE_VERSION) + '\n';
    }
  }
}

async function scan(ctx: Context, f: ParsedFlags): Promise<number> {
  const o = await options(ctx, f);
  const raw = await fetchReport(ctx, f, o);
  const report = o.rules.length ? filterReport(raw, { ignore: ignorer(o.rules) }) : raw;
  for (const w of report.Warnings ?? []) ctx.stderr.write(`WARNING: ${w}\n`);
  if (report.PackagesFrom) ctx.stderr.write(`${report.PackagesFrom}\n`);
  const text = await render(report, o.format);
  if (o.output) {
    // Written beside and renamed, so a failure never leaves half a report where the last one was.
    const tmp = `${o.output}.${process.pid}.tmp`;
    try {
      await fs.writeFile(tmp, text);
      await fs.rename(tmp, o.output);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new StatusError(`cannot write ${o.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 1);
    }
  } else {
    await writeOut(ctx.stdout, text);
  }
  return o.exitCode && allFindings(report).length ? o.exitCode : 0;
}

export const commands: Record<string, CommandSpec> = {
  scan: {
    usage: '[OPTIONS] IMAGE',
    description: 'Scan an image for known vulnerabilities (against the database `berth scan db import` made)',
    args: { max: 1 },
    flags: [
      { name: 'format', short: 'f', type: 'string', default: 'table', description: 'Output format: table, json (Trivy\'s JSON report), sarif (SARIF 2.1.0), cyclonedx (CycloneDX 1.5 with vulnerabilities)' },
      { name: 'severity', short: 's', type: 'string', valueName: 'list', description: 'Only these severities (comma-separated: UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL)' },
      { name: 'exit-code', type: 'int', default: 0, description: 'Exit with this status when any vulnerability remains after the filters' },
      { name: 'ignore-unfixed', type: 'bool', description: 'Only vulnerabilities that have a fixed version' },
      { name: 'ignorefile', type: 'string', description: 'File of vulnerability IDs to ignore (default ".berthignore" when present): ID [exp:YYYY-MM-DD] [pkg:NAME|pkg:TYPE/NAME[@VERSION]]' },
      { name: 'output', short: 'o', type: 'string', description: 'Write the report to this file instead of standard output' },
      { name: 'input', short: 'i', type: 'string', description: 'Scan a `docker save` archive instead of a stored image (nothing is stored)' },
      { name: 'image-src', type: 'string', valueName: 'list', description: 'Where to find IMAGE, in order: local (berth\'s images), remote (its registry; layers fetched, nothing stored) (default "local,remote")' },
      { name: 'key', type: 'stringArray', description: 'Public key (NAME.pub) to verify an SBOM attached to a remote image with; repeat for several (default: BERTH_TRUST_KEYS or ~/.berth/trust/*.pub)' },
      { name: 'remote', type: 'bool', description: 'Scan IMAGE from its registry (same as --image-src remote)' },
    ],
    run: scan,
  },
};
