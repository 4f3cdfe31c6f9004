// `version` and `info`.
import { API_VERSION, ENGINE_VERSION } from '../../api/version.js';
import { ApiError, ConnectionError } from '../../client/errors.js';
import { writeOut, type CommandSpec, type Context } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import { renderTemplate } from '../format/template.js';

export function clientVersionLine(): string {
  return `berth version ${ENGINE_VERSION}, build node${process.versions.node}\n`;
}

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: { Name: string; Version: string; Details?: Record<string, string> }[];
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  BuildTime?: string;
  Experimental?: boolean;
}

async function clientSection(ctx: Context): Promise<Record<string, unknown>> {
  let apiVersion = API_VERSION;
  try {
    apiVersion = await ctx.client().apiVersion();
  } catch {
    // the client section prints even when no daemon answers
  }
  return {
    Platform: { Name: '' },
    Version: ENGINE_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: process.platform,
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    BuildTime: '',
    Context: 'default',
    Experimental: true,
  };
}

function clientText(c: Record<string, unknown>): string {
  const api = c.ApiVersion === c.DefaultAPIVersion ? String(c.ApiVersion) : `${String(c.ApiVersion)} (downgraded from ${API_VERSION})`;
  return [
    'Client:',
    ` Version:           ${String(c.Version)}`,
    ` API version:       ${api}`,
    ` Node version:      ${process.versions.node}`,
    ` OS/Arch:           ${String(c.Os)}/${String(c.Arch)}`,
    ` Context:           default`,
    '',
  ].join('\n');
}

function serverText(s: ServerVersion): string {
  const lines = [`Server:${s.Platform?.Name ? ' ' + s.Platform.Name : ''}`];
  for (const comp of s.Components ?? []) {
    lines.push(` ${comp.Name}:`);
    lines.push(`  Version:          ${comp.Version}`);
    const d = comp.Details ?? {};
    if (comp.Name === 'Engine') {
      lines.push(`  API version:      ${d.ApiVersion ?? s.ApiVersion ?? ''} (minimum version ${d.MinAPIVersion ?? s.MinAPIVersion ?? ''})`);
      if (d.GoVersion) lines.push(`  Go version:       ${d.GoVersion}`);
      if (d.GitCommit) lines.push(`  Git commit:       ${d.GitCommit}`);
      if (d.BuildTime) lines.push(`  Built:            ${d.BuildTime}`);
      lines.push(`  OS/Arch:          ${d.Os ?? s.Os ?? ''}/${d.Arch ?? s.Arch ?? ''}`);
      lines.push(`  Experimental:     ${d.Experimental ?? String(s.Experimental ?? false)}`);
    } else if (d.GitCommit !== undefined) {
      lines.push(`  GitCommit:        ${d.GitCommit}`);
    }
  }
  return lines.join('\n') + '\n';
}

async function version(ctx: Context, f: ParsedFlags): Promise<number> {
  const client = await clientSection(ctx);
  let server: ServerVersion | undefined;
  let failure: unknown;
  try {
    server = await ctx.client().json<ServerVersion>({ path: '/version' });
  } catch (err) {
    failure = err;
  }
  const format = f.str('format');
  if (format) {
    const data = { Client: client, Server: server ?? null };
    const text = format === 'json' ? JSON.stringify(data) : renderTemplate(format, data);
    await writeOut(ctx.stdout, text + '\n');
  } else {
    await writeOut(ctx.stdout, clientText(client) + (server ? '\n' + serverText(server) : ''));
  }
  if (failure) {
    if (failure instanceof ApiError || failure instanceof ConnectionError) throw failure;
    throw failure;
  }
  return 0;
}

type Info = Record<string, unknown>;

function infoText(i: Info): string {
  const v = (k: string): string => String(i[k] ?? '');
  return [
    'Client:',
    ' Context:    default',
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${v('Containers')}`,
    `  Running: ${v('ContainersRunning')}`,
    `  Paused: ${v('ContainersPaused')}`,
    `  Stopped: ${v('ContainersStopped')}`,
    ` Images: ${v('Images')}`,
    ` Server Version: ${v('ServerVersion')}`,
    ` Storage Driver: ${v('Driver')}`,
    ` Logging Driver: ${v('LoggingDriver')}`,
    ` Cgroup Driver: ${v('CgroupDriver')}`,
    ` Cgroup Version: ${v('CgroupVersion')}`,
    ` Default Runtime: ${v('DefaultRuntime')}`,
    ` Kernel Version: ${v('KernelVersion')}`,
    ` Operating System: ${v('OperatingSystem')}`,
    ` OSType: ${v('OSType')}`,
    ` Architecture: ${v('Architecture')}`,
    ` CPUs: ${v('NCPU')}`,
    ` Total Memory: ${v('MemTotal')}`,
    ` Name: ${v('Name')}`,
    ` ID: ${v('ID')}`,
    ` Docker Root Dir: ${v('DockerRootDir')}`,
    ` Debug Mode: ${String(i.Debug ?? false)}`,
    ` Experimental: ${String(i.ExperimentalBuild ?? false)}`,
    ` Live Restore Enabled: ${String(i.LiveRestoreEnabled ?? false)}`,
    '',
  ].join('\n');
}

async function info(ctx: Context, f: ParsedFlags): Promise<number> {
  const data = await ctx.client().json<Info>({ path: '/info' });
  const format = f.str('format');
  if (!format) {
    const { bytesSize } = await import('../../lib/units.js');
    await writeOut(ctx.stdout, infoText({ ...data, MemTotal: bytesSize(Number(data.MemTotal ?? 0)) }));
    return 0;
  }
  const text = format === 'json' ? JSON.stringify(data) : renderTemplate(format, data);
  await writeOut(ctx.stdout, text + '\n');
  return 0;
}

const FORMAT_FLAG = { name: 'format', short: 'f', type: 'string', description: 'Format output using a custom template' } as const;

export const commands: Record<string, CommandSpec> = {
  version: {
    usage: '[OPTIONS]',
    description: 'Show the berth version information',
    flags: [FORMAT_FLAG],
    args: { max: 0 },
    run: version,
  },
  info: {
    usage: '[OPTIONS]',
    description: 'Display system-wide information',
    aliases: ['berth system info', 'berth info'],
    flags: [FORMAT_FLAG],
    args: { max: 0 },
    run: info,
  },
};
