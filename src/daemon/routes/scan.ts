// berth's vulnerability scan (not part of Docker's API): POST /images/{name}/scan scans a stored image or
// a remote reference (`src=local,remote`, X-Registry-Auth for the registry), POST /images/scan scans the
// `docker save` archive sent as the body (`name` to report it under). Both answer a Trivy-shaped JSON
// report (src/api/scan.ts); `severity=HIGH,CRITICAL` and `ignoreUnfixed=1` filter it.
import type { Readable } from 'node:stream';
import { filterReport, parseSeverities, type ScanReport, type Severity } from '../../api/scan.js';
import { decodeRegistryAuth, type AuthConfig } from '../../distribution/auth.js';
import type { TrustedKey } from '../../distribution/cosign.js';
import { trustKeysFrom } from './trust.js';
import { InvalidParameter } from '../../lib/errors.js';
import { qBool, sendJson, type Ctx, type Router } from '../http.js';

/** What the scan routes need from the scan service. */
export interface ScanBackend {
  scan(req: { image: string; src?: ('local' | 'remote')[]; auth?: AuthConfig; keys?: TrustedKey[]; archive?: Readable }): Promise<ScanReport>;
}

function sources(ctx: Ctx): ('local' | 'remote')[] | undefined {
  const raw = ctx.query.get('src');
  if (!raw) return undefined;
  const out: ('local' | 'remote')[] = [];
  for (const s of raw.split(',').map((w) => w.trim()).filter(Boolean)) {
    if (s !== 'local' && s !== 'remote') throw new InvalidParameter(`invalid image source "${s}": use local, remote or both (local,remote)`);
    out.push(s);
  }
  return out;
}

/** The filters of the query, checked before any work. */
function filters(ctx: Ctx): (report: ScanReport) => ScanReport {
  const sev = ctx.query.get('severity');
  let severities: Severity[] | undefined;
  try {
    severities = sev ? parseSeverities(sev) : undefined;
  } catch (e) {
    throw new InvalidParameter((e as Error).message);
  }
  const ignoreUnfixed = qBool(ctx.query, 'ignoreUnfixed');
  return (report) => filterReport(report, { severities, ignoreUnfixed });
}

export function scanRoutes(r: Router, scan: ScanBackend): void {
  r.on('POST', '/images/scan', async (ctx) => {
    const name = ctx.query.get('name') || 'image.tar';
    const filtered = filters(ctx);
    const report = await scan.scan({ image: name, archive: ctx.req });
    sendJson(ctx, 200, filtered(report));
  });
  r.on('POST', '/images/{name:.*}/scan', async (ctx) => {
    const src = sources(ctx);
    const filtered = filters(ctx);
    const auth = decodeRegistryAuth(ctx.req.headers['x-registry-auth'] as string | undefined);
    // The keys the client trusts (X-Berth-Trust, as with a pull): a remote image's SBOM signed by one is used.
    const keys = trustKeysFrom(ctx.req.headers) ?? [];
    const report = await scan.scan({ image: ctx.params[0]!, src, auth, keys });
    sendJson(ctx, 200, filtered(report));
  });
}
