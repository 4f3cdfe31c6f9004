// Platforms and the args BuildKit predefines: berth builds only for its own linux/<arch> (RUN runs natively),
// so --platform and FROM --platform are checked before anything runs; $TARGETPLATFORM and friends have
// this host's values.
import { InvalidParameter } from '../../../lib/errors.js';
import { hostArch } from '../../images/service.js';

export const PLATFORM_ARGS = ['TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT', 'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT'];
/** Build args that never draw the "not consumed" warning (Docker's proxy args). */
export const PREDEFINED_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** A platform ("linux/amd64", "linux", "amd64", "linux/x86_64"…) this host builds, or a clear refusal. */
export function checkPlatform(p: string): void {
  const host = hostArch();
  const parts = p.trim().toLowerCase().split('/');
  const [os, arch, variant] = parts.length === 1 && parts[0] !== 'linux' ? ['linux', parts[0], undefined] : parts;
  const norm = ({ x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', i386: '386' } as Record<string, string>)[arch ?? ''] ?? (arch || host);
  const variantOk = !variant || (norm === 'amd64' && variant === 'v1') || (norm === 'arm64' && variant === 'v8');
  if (parts.length > 3 || os !== 'linux' || norm !== host || !variantOk) {
    throw new InvalidParameter(`platform "${p}" is not supported: only linux/${host} builds here (berth runs RUN steps natively and does not emulate other platforms)`);
  }
}

/** BuildKit's automatic platform args, when a stage declares them without a value. */
export function defaultArg(name: string): string | undefined {
  const arch = hostArch();
  const values: Record<string, string> = { TARGETPLATFORM: `linux/${arch}`, TARGETOS: 'linux', TARGETARCH: arch, TARGETVARIANT: '', BUILDPLATFORM: `linux/${arch}`, BUILDOS: 'linux', BUILDARCH: arch, BUILDVARIANT: '' };
  return values[name];
}
