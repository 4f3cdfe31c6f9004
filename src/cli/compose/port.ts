// `berth compose port [OPTIONS] SERVICE PRIVATE_PORT`: the host address a container port is published on.
import { canonicalName, serviceContainer } from '../../compose/ps.js';
import { ComposeError } from '../../compose/types.js';
import { writeOut } from '../command.js';
import type { ParsedFlags } from '../flags.js';
import type { ComposeCommand, ComposeContext } from './context.js';
import { toProjectName } from './target.js';

async function port(ctx: ComposeContext, f: ParsedFlags): Promise<number> {
  const [service = '', privatePort = ''] = f.args;
  const number = /^\d+$/.test(privatePort) ? Number(privatePort) : NaN;
  if (!(number >= 0 && number <= 65535)) throw new ComposeError(`invalid port "${privatePort}": a number from 0 to 65535 is expected`);
  const protocol = (f.str('protocol') || 'tcp').toLowerCase();
  const c = await serviceContainer(ctx.backend(), await toProjectName(ctx), service, { index: f.num('index') });
  const found = (c.Ports ?? []).find((p) => p.PrivatePort === number && p.Type === protocol && p.PublicPort);
  if (!found) {
    const ports = (c.Ports ?? []).map((p) => `${p.PrivatePort}/${p.Type}`).join(', ');
    throw new ComposeError(`no port ${number}/${protocol} for container ${canonicalName(c)}: ${ports}`);
  }
  await writeOut(ctx.stdout, `${found.IP ?? ''}:${found.PublicPort}\n`);
  return 0;
}

export const commands: Record<string, ComposeCommand> = {
  port: {
    usage: '[OPTIONS] SERVICE PRIVATE_PORT',
    description: 'Print the public port for a port binding',
    flags: [
      { name: 'index', type: 'int', description: 'Index of the container if service has multiple replicas' },
      { name: 'protocol', type: 'string', default: 'tcp', description: 'tcp or udp' },
    ],
    args: { min: 2, max: 2 },
    run: port,
  },
};
