// `berth sbom` against the truth: a Debian image's packages against `dpkg-query -W` run inside a
// container of the same image (every package, exact versions); a Node image's against `npm ls --all
// --json` over exactly the tree put in the image; Go binaries' build info; a package removed by a
// later layer (whiteout); a malformed package.json named in a warning; CycloneDX and SPDX output
// validated; an image archive; the per-layer cache; `build --sbom`; `--attach` to berth's registry
// (listed by its referrers API); bad input. One daemon for the file.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ImageSbom } from '../../src/api/sbom.js';
import { validateCycloneDx } from '../../src/api/sbom-formats.js';
import { REPO, TestDaemon } from './harness.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const CLI = path.join(REPO, 'dist/src/cli/main.js');
const ESBUILD = path.join(REPO, 'node_modules/@esbuild/linux-x64/bin/esbuild');
const NODE_MODULES = ['ajv', 'fast-deep-equal', 'fast-uri', 'json-schema-traverse', 'require-from-string'];

const ok = (r: { code: number; stdout: string; stderr: string }, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);

describe('sbom', () => {
  let d: TestDaemon;
  let tmp: string;
  let appCtx: string;
  const sboms = new Map<string, ImageSbom>();
  const sbomOf = async (image: string): Promise<ImageSbom> => {
    const r = await d.berth(['sbom', '--format', 'json', image]);
    ok(r, `sbom ${image}`);
    return JSON.parse(r.stdout) as ImageSbom;
  };

  before(async () => {
    d = await TestDaemon.start();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-sbom-'));
    // The Debian base as compose-app-images.sh makes it (debootstrap once, cached under /var/tmp/berth-demo).
    const base = spawnSync('sh', [path.join(REPO, 'scripts/debian-base.sh')], { encoding: 'utf8' });
    assert.equal(base.status, 0, base.stderr);
    ok(await d.berth(['import', '-c', 'CMD ["bash"]', base.stdout.trim(), 'debian:bookworm']), 'import');
    // A Node application: a subset of berth's own node_modules, plus two Go binaries.
    appCtx = path.join(tmp, 'app');
    await fs.mkdir(path.join(appCtx, 'app/node_modules'), { recursive: true });
    await fs.mkdir(path.join(appCtx, 'bin'));
    for (const m of NODE_MODULES) await fs.cp(path.join(REPO, 'node_modules', m), path.join(appCtx, 'app/node_modules', m), { recursive: true });
    await fs.writeFile(path.join(appCtx, 'app/package.json'), JSON.stringify({ name: 'sbom-app', version: '1.0.0', dependencies: { ajv: '*' } }));
    await fs.copyFile(ESBUILD, path.join(appCtx, 'bin/esbuild'));
    await fs.copyFile('/usr/sbin/runc', path.join(appCtx, 'bin/runc'));
    await fs.chmod(path.join(appCtx, 'bin/esbuild'), 0o755);
    await fs.writeFile(path.join(appCtx, 'Dockerfile'), 'FROM debian:bookworm\nCOPY app /app\nCOPY bin /usr/local/bin\n');
    ok(await d.berth(['build', '-q', '-t', 'app:1', appCtx]), 'build app:1');
    // A later layer removes a package (whiteout) and adds a broken package.json.
    const wh = path.join(tmp, 'wh');
    await fs.mkdir(path.join(wh, 'broken'), { recursive: true });
    await fs.writeFile(path.join(wh, 'broken/package.json'), '{"name": "broken", "vers');
    await fs.writeFile(path.join(wh, 'Dockerfile'), 'FROM app:1\nRUN rm -rf /app/node_modules/fast-uri\nCOPY broken /app/node_modules/broken\n');
    ok(await d.berth(['build', '-q', '-t', 'app:2', wh]), 'build app:2');
  });

  after(async () => {
    await d?.cleanup();
    if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  });

  it('lists exactly the Debian packages dpkg-query reports inside a container of the image', async () => {
    const s = await sbomOf('debian:bookworm');
    sboms.set('debian', s);
    const run = await d.berth(['run', '--rm', 'debian:bookworm', 'dpkg-query', '-W', '-f', '${Package} ${Version}\\n']);
    ok(run, 'dpkg-query');
    const truth = run.stdout.trim().split('\n').sort();
    assert.ok(truth.length > 50, run.stdout);
    assert.deepEqual(s.packages.filter((p) => p.type === 'deb').map((p) => `${p.name} ${p.version}`).sort(), truth);
    assert.deepEqual(s.distro && { id: s.distro.id, versionId: s.distro.versionId }, { id: 'debian', versionId: '12' });
    assert.deepEqual(s.warnings, []);
    const libc = s.packages.find((p) => p.name === 'libc6')!;
    assert.equal(libc.sourceName, 'glibc');
    assert.equal(libc.arch, 'amd64');
    assert.match(libc.purl, /^pkg:deb\/debian\/libc6@[^?]+\?arch=amd64&distro=debian-12$/);
    assert.ok(libc.files?.some((f) => f.endsWith('/x86_64-linux-gnu/libc.so.6')), 'files from dpkg/info/libc6:amd64.list');
    assert.ok(s.packages.some((p) => p.type === 'deb' && p.licenses.length), 'licenses from DEP-5 copyright files');
    assert.ok(s.packages.filter((p) => p.type === 'deb').every((p) => p.layer.index === 0 && p.location === '/var/lib/dpkg/status'));
  });

  it('lists the Node packages npm ls reports for the same tree, and Go binaries\' modules, with their layers', async () => {
    const s = await sbomOf('app:1');
    sboms.set('app:1', s);
    const ls = spawnSync('npm', ['ls', '--all', '--json'], { cwd: path.join(appCtx, 'app'), encoding: 'utf8' });
    assert.equal(ls.status, 0, ls.stderr);
    const truth: string[] = [];
    const walk = (deps: Record<string, { version: string; dependencies?: Record<string, unknown> }> | undefined) => {
      for (const [name, dep] of Object.entries(deps ?? {})) {
        truth.push(`${name}@${dep.version}`);
        walk(dep.dependencies as never);
      }
    };
    walk((JSON.parse(ls.stdout) as { dependencies: never }).dependencies);
    const npm = s.packages.filter((p) => p.type === 'npm');
    assert.deepEqual(npm.map((p) => `${p.name}@${p.version}`).sort(), truth.sort());
    for (const p of npm) {
      assert.equal(p.layer.index, 1);
      assert.match(p.layer.createdBy ?? '', /COPY app \/app/);
      assert.equal(p.purl, `pkg:npm/${p.name}@${p.version}`);
    }
    // Go: the build info as embedded in the binaries (checked against their bytes).
    const esbuild = readFileSync(ESBUILD).toString('latin1');
    const sys = /\ndep\tgolang\.org\/x\/sys\t(\S+)\t/.exec(esbuild)![1]!;
    const go = s.packages.filter((p) => p.type === 'go');
    assert.ok(go.some((p) => p.name === 'github.com/evanw/esbuild' && p.location === '/usr/local/bin/esbuild'), JSON.stringify(go));
    assert.ok(go.some((p) => p.name === 'golang.org/x/sys' && p.version === sys && p.purl === `pkg:golang/golang.org/x/sys@${sys}`));
    const runcGo = /\xff Go buildinf:[\s\S]{19}(go1\.[0-9.]+)/.exec(readFileSync('/usr/sbin/runc').toString('latin1'))![1]!;
    assert.ok(go.some((p) => p.name === 'github.com/opencontainers/runc' && p.location === '/usr/local/bin/runc'));
    assert.ok(go.some((p) => p.name === 'stdlib' && p.version === 'v' + runcGo.slice(2) && p.location === '/usr/local/bin/runc'), JSON.stringify(go));
    assert.ok(go.every((p) => p.layer.index === 2));
    // The Debian packages are still attributed to the base layer.
    assert.deepEqual(s.packages.filter((p) => p.type === 'deb').map((p) => `${p.name}@${p.version}`), sboms.get('debian')!.packages.map((p) => `${p.name}@${p.version}`));
  });

  it('drops a package a later layer removed and names a malformed package.json in a warning', async () => {
    const r = await d.berth(['sbom', 'app:2']);
    ok(r, 'sbom app:2');
    assert.match(r.stdout, /^NAME +VERSION +TYPE +LAYER\n/);
    assert.match(r.stdout, /\najv +8\.\d+\.\d+ +npm +1 [0-9a-f]{12}\n/);
    assert.doesNotMatch(r.stdout, /fast-uri/);
    assert.match(r.stderr, /WARNING: \/app\/node_modules\/broken\/package\.json: not valid JSON/);
    const s = await sbomOf('app:2');
    assert.equal(s.layers.length, 5); // debian, COPY app, COPY bin, RUN rm, COPY broken
    assert.deepEqual(s.packages.filter((p) => p.type === 'npm').map((p) => p.name).sort(), NODE_MODULES.filter((m) => m !== 'fast-uri').sort());
  });

  it('writes CycloneDX 1.5 and SPDX 2.3 documents that validate', async () => {
    const cdx = path.join(tmp, 'bom.cdx.json');
    ok(await d.berth(['sbom', '--format', 'cyclonedx-json', '-o', cdx, 'app:1']), 'cyclonedx');
    const text = await fs.readFile(cdx, 'utf8');
    await validateCycloneDx(text);
    const doc = JSON.parse(text) as { specVersion: string; components: { purl?: string }[] };
    assert.equal(doc.specVersion, '1.5');
    const purls = new Set(doc.components.map((c) => c.purl).filter(Boolean));
    for (const p of sboms.get('app:1')!.packages) assert.ok(purls.has(p.purl), p.purl);
    const spdx = await d.berth(['sbom', '--format', 'spdx-json', 'app:1']);
    ok(spdx, 'spdx');
    const schema = JSON.parse(readFileSync(path.join(REPO, 'test/fixtures/spdx/spdx-schema-2.3.json'), 'utf8')) as object;
    const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(schema);
    const sdoc = JSON.parse(spdx.stdout) as { packages: unknown[] };
    assert.ok(validate(sdoc), JSON.stringify(validate.errors?.slice(0, 5)));
    assert.equal(sdoc.packages.length, sboms.get('app:1')!.packages.length + 1);
  });

  it('reads an image archive the same as the stored image', async () => {
    const tar = path.join(tmp, 'app.tar');
    ok(await d.berth(['save', '-o', tar, 'app:2']), 'save');
    const r = await d.berth(['sbom', '--format', 'json', '--input', tar]);
    ok(r, 'sbom --input');
    const fromTar = JSON.parse(r.stdout) as ImageSbom;
    const stored = await sbomOf('app:2');
    assert.deepEqual(fromTar.packages, stored.packages);
    assert.deepEqual(fromTar.warnings, stored.warnings);
    assert.deepEqual(fromTar.image.repoTags, ['app:2']);
  });

  it('caches each layer once by diff ID: a second look re-reads nothing', async () => {
    const dir = path.join(d.root, 'sbom/layers');
    const files = await fs.readdir(dir);
    const diffIds = new Set([...sboms.values()].flatMap((s) => s.layers.map((l) => l.diffId.slice(7) + '.json')));
    for (const f of diffIds) assert.ok(files.includes(f), `cache entry ${f}`);
    const base = path.join(dir, sboms.get('debian')!.layers[0]!.diffId.slice(7) + '.json');
    const before = statSync(base).mtimeMs;
    const again = await sbomOf('app:1');
    assert.deepEqual(again.packages, sboms.get('app:1')!.packages);
    assert.equal(statSync(base).mtimeMs, before);
  });

  it('build --sbom writes the built image\'s SBOM beside the build', async () => {
    const cwd = path.join(tmp, 'b');
    await fs.mkdir(cwd);
    await fs.writeFile(path.join(cwd, 'Dockerfile'), 'FROM app:1\nLABEL x=1\n');
    ok(await d.berth(['build', '-q', '--sbom', '-t', 'app:3', '.'], { cwd }), 'build --sbom');
    const text = await fs.readFile(path.join(cwd, 'sbom.cdx.json'), 'utf8');
    await validateCycloneDx(text);
    assert.match(text, /"pkg:npm\/ajv@/);
  });

  it('attaches the SBOM to an image in a registry as an OCI referrer', async () => {
    const reg = await startRegistry(path.join(tmp, 'registry'));
    try {
      const ctx = path.join(tmp, 'bb');
      await fs.mkdir(path.join(ctx, 'node_modules/left-pad'), { recursive: true });
      await fs.writeFile(path.join(ctx, 'node_modules/left-pad/package.json'), '{"name":"left-pad","version":"1.3.0","license":"WTFPL"}');
      await fs.writeFile(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY node_modules /srv/node_modules\n');
      const ref = `${reg.host}/bb:1`;
      ok(await d.berth(['build', '-q', '-t', ref, ctx]), 'build');
      // Not pushed yet: refused with the reason.
      const early = await d.berth(['sbom', '--attach', ref]);
      assert.notEqual(early.code, 0);
      assert.match(early.stderr, /not known|not found|unknown/i);
      ok(await d.berth(['push', ref]), 'push');
      // The remote image's inventory (its layers fetched and read as tar streams, nothing stored).
      const remote = await apiGet(d.socket, `/sbom?remote=${encodeURIComponent(ref)}`);
      assert.equal(remote.status, 200, remote.body);
      const rs = JSON.parse(remote.body) as ImageSbom;
      assert.deepEqual(rs.packages.map((p) => `${p.purl} ${p.location} L${p.layer.index}`), ['pkg:npm/left-pad@1.3.0 /srv/node_modules/left-pad/package.json L0']);
      assert.deepEqual(rs.image.repoTags, [ref]);
      const r = await d.berth(['sbom', '--attach', ref]);
      ok(r, 'attach');
      const m = /Attached SBOM (sha256:[0-9a-f]{64}) \(application\/vnd\.cyclonedx\+json\) to .*@(sha256:[0-9a-f]{64})/.exec(r.stderr);
      assert.ok(m, r.stderr);
      const list = (await (await fetch(`http://${reg.host}/v2/bb/referrers/${m[2]}`)).json()) as { manifests: { digest: string; artifactType: string }[] };
      assert.deepEqual(list.manifests.map((x) => [x.digest, x.artifactType]), [[m[1], 'application/vnd.cyclonedx+json']]);
      const manifest = (await (await fetch(`http://${reg.host}/v2/bb/manifests/${m[1]}`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).json()) as { subject: { digest: string }; layers: { digest: string }[] };
      assert.equal(manifest.subject.digest, m[2]);
      const bom = await (await fetch(`http://${reg.host}/v2/bb/blobs/${manifest.layers[0]!.digest}`)).text();
      await validateCycloneDx(bom);
      assert.match(bom, /pkg:npm\/left-pad@1\.3\.0/);
    } finally {
      await reg.stop();
    }
  });

  it('refuses bad input with a clear message', async () => {
    const none = await d.berth(['sbom', 'no-such-image:1']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /No such image: no-such-image:1/);
    const fmt = await d.berth(['sbom', '--format', 'xml', 'app:1']);
    assert.equal(fmt.code, 1);
    assert.match(fmt.stderr, /invalid --format "xml": use one of table, json, cyclonedx-json, spdx-json/);
    const noArg = await d.berth(['sbom']);
    assert.equal(noArg.code, 1);
    const missing = await d.berth(['sbom', '--input', path.join(tmp, 'nope.tar')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such image archive: .*nope\.tar/);
    const notTar = await d.berth(['sbom', '--input', path.join(appCtx, 'Dockerfile')]);
    assert.equal(notTar.code, 1);
    assert.match(notTar.stderr, /not a readable image archive/);
    const badOut = await d.berth(['sbom', '-o', path.join(tmp, 'no/such/dir/x.json'), 'app:1']);
    assert.equal(badOut.code, 1);
    assert.match(badOut.stderr, /cannot write .*x\.json/);
    assert.doesNotMatch(none.stderr + fmt.stderr + missing.stderr + notTar.stderr + badOut.stderr, /TypeError|at .*\.js:\d+/);
  });
});

function apiGet(socket: string, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath: socket, path: p }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function startRegistry(root: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'registry', 'serve', '--addr', '127.0.0.1:0', '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b));
  child.stderr!.on('data', (b: Buffer) => (out += b));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  for (let i = 0; i < 300; i++) {
    const m = /listening on https?:\/\/([^ \n]+)/.exec(out);
    if (m) return { host: m[1]!, stop };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`registry serve did not start: ${out}`);
}
