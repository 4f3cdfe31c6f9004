// The RUN executor: the step's container — its snapshot, network, /etc files, RUN --mount mounts
// (run-mounts.ts), heredoc script — run through the Worker's runContainer seam; its changes become a layer.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { HostConfig } from '../../../api/types.js';
import { InvalidParameter } from '../../../lib/errors.js';
import { secureJoin } from '../../../lib/securejoin.js';
import { expandString, type Env } from '../../../lib/shell-words.js';
import type { ContainerRecord } from '../../containers/record.js';
import { containerFiles, writeContainerFiles } from '../../containers/files.js';
import { buildSpec } from '../../runtime/spec.js';
import { resolveUser } from '../../runtime/user.js';
import type { Instruction } from '../frontend/dockerfile.js';
import { PIPES, runCommand, runHistory } from '../frontend/run-command.js';
import { RunFailed, type State } from '../types.js';
import { stepName, type StepContext, type Worker } from './context.js';
import { ensureDir } from './files.js';
import { envOf, withHistory } from './metadata.js';
import { parseRunMount, prepareRunMounts, removeMountPoints } from './run-mounts.js';
import { mountState, withSnapshot } from './snapshot.js';

export async function runStep(w: Worker, state: State, inst: Instruction, env: Env, o: StepContext): Promise<State> {
  const { d } = w;
  const { argv, script } = runCommand(inst, o.shell);
  const given = inst.flags.network?.[0] ?? 'default';
  if (!['default', 'none', 'host'].includes(given)) throw new InvalidParameter(`unsupported RUN --network=${given}: use default, none or host`);
  // "default" is the build's network (build --network), itself the bridge unless told otherwise.
  const network = given === 'default' && o.networkMode && o.networkMode !== 'bridge' ? o.networkMode : given;
  const mounts = (inst.flags.mount ?? []).map((m) => parseRunMount(expandString(m, env, o.escape)));
  if (mounts.some((m) => m.type === 'bind' && !m.from)) await o.contextReady;
  let mountPoints: string[] = [];
  return withSnapshot(
    d,
    state,
    async (rootfs, id, tmp) => {
      o.say(` ---> Running in ${id.slice(0, 12)}\n`);
      const cfg = state.config.config ?? {};
      const cwd = cfg.WorkingDir || '/';
      const rec = { id, name: '/' + id.slice(0, 12), hostConfig: { NetworkMode: network === 'default' ? 'bridge' : network } as HostConfig, config: {}, networks: {} } as unknown as ContainerRecord;
      if (network !== 'none' && network !== 'host') rec.networks = d.networks.endpointsForCreate(rec.hostConfig);
      // The network sandbox is wired while the rootfs side is prepared (they share nothing); it is
      // awaited before the container's files, which name its address.
      const attaching = d.networks.attach(rec);
      attaching.catch(() => undefined);
      let releaseMounts = async (): Promise<void> => undefined;
      try {
        // A base image's working directory may be missing (WORKDIR made ours): runc needs it.
        await ensureDir(rootfs, cwd, undefined, 'use the working directory').catch((e: Error) => {
          throw new InvalidParameter(`${stepName(o, inst)}: ${e.message}`);
        });
        if (script) await checkInterpreter(rootfs, script.body, stepName(o, inst));
        const files = containerFiles(tmp);
        const extraHosts = (o.extraHosts ?? []).map((h) => h.replace(/:host-gateway$/, () => ':' + d.networks.hostGatewayIp()));
        const runEnv = [...new Map([...envOf(state.config), ...o.args])].map(([k, v]) => `${k}=${v}`);
        const prepared = await prepareRunMounts(mounts, {
          root: d.root,
          rootfs,
          contextDir: o.contextDir,
          secrets: o.secrets ?? {},
          exec: argv.join(' '),
          stageRoot: async (from) => mountState(d, await o.resolveFrom(from)),
        });
        mountPoints = prepared.created;
        releaseMounts = prepared.release;
        if (script) {
          const pipes = path.join(tmp, 'pipes');
          await fs.mkdir(pipes);
          await fs.writeFile(path.join(pipes, script.name), script.body, { mode: 0o755 });
          prepared.oci.push({ destination: PIPES, type: 'bind', source: pipes, options: ['rbind', 'ro'] });
        }
        const user = await resolveUser(rootfs, cfg.User);
        const netnsPath = await attaching;
        const embeddedDns = d.networks.embeddedDns(rec);
        await writeContainerFiles(files, { hostname: id.slice(0, 12), extraHosts, dns: [], dnsSearch: [], dnsOptions: [], embeddedDns, hostNetwork: network === 'host', ip: Object.values(rec.networks ?? {})[0]?.IPAddress });
        const spec = buildSpec({
          id,
          rootfs,
          args: argv,
          env: runEnv,
          cwd,
          user,
          tty: false,
          hostname: id.slice(0, 12),
          hostConfig: rec.hostConfig,
          files,
          netnsPath,
          cgroupsPath: `/berth/build-${id}`,
          extraMounts: prepared.oci,
        });
        // The bundle lives only as long as the step (a crash leaves it to the start-up clean-up): no sync.
        await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(spec));
        // The classic builder shows stderr in red, as dockerd's does (clients match on it).
        const red = o.progressMode !== 'vertex';
        const out = (t: string) => o.vertex.log(t);
        const code = await w.runContainer({ bundle: tmp, id, stdout: out, stderr: red ? (t) => o.vertex.log(`\x1b[91m${t}\x1b[0m`) : out, signal: o.signal });
        if (o.signal?.aborted) throw o.signal.reason;
        if (code !== 0) throw new RunFailed(`The command '${argv.join(' ')}' returned a non-zero code: ${code}`, code);
      } finally {
        await releaseMounts();
        // The container is gone: its network sandbox is given back off the step's path (the build
        // awaits it before answering), as errors in giving it back never failed the step.
        const detached = attaching.catch(() => undefined).then(() => d.networks.detach(rec)).catch(() => undefined);
        if (o.cleanups) o.cleanups.push(detached);
        else await detached;
      }
      return withHistory(state, runHistory(inst, argv), false);
    },
    (upper) => removeMountPoints(upper, mountPoints),
    { cleanups: o.cleanups, pending: o.pending },
  );
}

/** A heredoc script's #! interpreter must be in the image: else the step fails saying so (the shell would
 *  only say "not found" about the script). `#!/usr/bin/env x` checks env; env reports a missing x itself. */
async function checkInterpreter(rootfs: string, body: string, step: string): Promise<void> {
  const interpreter = /^#!\s*(\S*)/.exec(body)?.[1] ?? '';
  if (!interpreter.startsWith('/')) throw new InvalidParameter(`${step}: the heredoc's #! line names no interpreter by its absolute path: "${body.split('\n')[0]}"`);
  const st = await fs.stat(await secureJoin(rootfs, interpreter)).catch(() => undefined);
  if (!st?.isFile()) throw new InvalidParameter(`${step}: the heredoc's interpreter ${interpreter} (its #! line) is not in the image`);
}
