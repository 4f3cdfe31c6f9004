// The compose specification's own JSON schema (as compose-go, the loader of Docker Compose v2, ships
// it; kept outside the project in ../shared/conformance/compose-go) as an oracle for berth's schema:
// over compose-go's test files and a generated set of documents (every key of every mapping of the
// spec, each given values of every JSON type, plus an unknown key), berth accepts what the oracle
// accepts, and refuses what it refuses with a message naming the key. berth refuses more only where
// Compose refuses later than its schema (durations, sizes, port specifications, exclusive keys).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { validateSchema } from '../../src/compose/validate/schema.js';
import { ComposeError } from '../../src/compose/types.js';
import { composeSpecSchema } from '../../src/compose/validate/spec-schema.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** ../shared/conformance beside the repository; BERTH_CONFORMANCE_DIR points elsewhere (a worktree). */
function conformanceDir(): string {
  const base = process.env.BERTH_CONFORMANCE_DIR ?? path.resolve(REPO, '../shared/conformance');
  return existsSync(path.join(base, 'compose-go')) ? path.join(base, 'compose-go') : base;
}
const COMPOSE_GO = conformanceDir();

type Json = Record<string, unknown>;
type Verdict = { ok: true } | { ok: false; message: string };

/** Refusals of berth's validation that Compose makes after its schema (loader, transform, validation packages). */
const LATER_CHECKS = [
  /is not valid duration/,
  /invalid size|invalid suffix/,
  /invalid (containerPort|hostPort|proto|ip address)|invalid ranges? specified|no port specified/i,
  /attributes are mutually exclusive|must be set$|conflicting parameters|attributes are exclusive|value can't be blank/,
];

let oracle: (doc: unknown) => boolean;
let oracleSchema: Json;

function berth(doc: unknown): Verdict {
  try {
    validateSchema(doc, '/project/compose.yaml');
    return { ok: true };
  } catch (err) {
    assert.ok(err instanceof ComposeError, `not a ComposeError: ${String(err)}`);
    return { ok: false, message: err.message };
  }
}

/** Compares berth with the oracle on one document; returns a description of a disagreement, or ''. */
function compare(doc: unknown, label: string, keyHint: string, orHint = keyHint, parentAndKey?: [string, string]): string {
  // The value checks write list indexes as [0] (Compose's validation package), the schema as .0.
  // A check on a whole mapping ("secrets.s: file|environment attributes are mutually exclusive") names
  // the mapping, then the key among others.
  const names = (message: string): boolean =>
    message.replace(/\[(\d+)\]/g, '.$1').includes(keyHint) ||
    message.includes(orHint) ||
    (parentAndKey !== undefined && message.includes(`${parentAndKey[0]}: `) && new RegExp(`\\b${parentAndKey[1]}\\b`).test(message));
  const expected = oracle(doc);
  const got = berth(doc);
  if (expected && !got.ok) {
    if (LATER_CHECKS.some((re) => re.test(got.message)) && names(got.message)) return '';
    return `${label}: oracle accepts, berth refuses: ${got.message}`;
  }
  if (!expected && got.ok) return `${label}: oracle refuses, berth accepts`;
  if (!got.ok && !names(got.message)) return `${label}: message does not name ${keyHint}: ${got.message}`;
  if (!got.ok && !got.message.startsWith('validating /project/compose.yaml: ')) return `${label}: message does not name the file: ${got.message}`;
  return '';
}

// --- the generated documents -------------------------------------------------------------------

/** Values of every JSON type and the shapes compose keys take. */
const PROBES: unknown[] = [
  's', '', 'all', '10s', '1g', '8080:80', '/data', 'true', 'x y', '${VAR}',
  // the words of the spec's enumerations and patterns
  'always', 'never', 'missing', 'build', 'if_not_present', 'refresh', 'daily', 'weekly', 'every_12h', 'every_1d2h', 'every_x',
  'bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image', 'host', 'private', 'service_healthy', 'start-first', 'pause',
  'sync', 'rebuild', 'sync+restart', 'sync+exec', 'z', 'Z', 'enabled', 'readonly', 'CMD', 'web_1', 'ab', 'a.b-c_d', 'ingress', 'tcp', 1, 0, -1, 1.5, 70000, true, false, null,
  [], ['a'], ['a', 'a'], [1], [{}], ['A=1'], {}, { a: 'b' }, { a: 1 }, { a: null }, { a: ['x'] }, { a: { b: 'c' } },
];

/** Mappings of the spec, by where they are in a document, with a valid value to start from. */
const SITES: { at: string[]; base: unknown }[] = [
  { at: [], base: { services: { web: { image: 'busybox' } } } },
  { at: ['services', 'web'], base: { image: 'busybox' } },
  { at: ['services', 'web', 'build'], base: { context: '.' } },
  { at: ['services', 'web', 'healthcheck'], base: { test: ['CMD', 'true'] } },
  { at: ['services', 'web', 'deploy'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources', 'limits'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources', 'reservations'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources', 'reservations', 'devices', '0'], base: { capabilities: ['gpu'] } },
  { at: ['services', 'web', 'deploy', 'restart_policy'], base: {} },
  { at: ['services', 'web', 'deploy', 'update_config'], base: {} },
  { at: ['services', 'web', 'deploy', 'rollback_config'], base: {} },
  { at: ['services', 'web', 'deploy', 'placement'], base: {} },
  { at: ['services', 'web', 'logging'], base: {} },
  { at: ['services', 'web', 'ports', '0'], base: { target: 80 } },
  { at: ['services', 'web', 'volumes', '0'], base: { type: 'volume', source: 'data', target: '/data' } },
  { at: ['services', 'web', 'volumes', '0', 'bind'], base: {} },
  { at: ['services', 'web', 'volumes', '0', 'volume'], base: {} },
  { at: ['services', 'web', 'volumes', '0', 'tmpfs'], base: {} },
  { at: ['services', 'web', 'depends_on', 'db'], base: { condition: 'service_started' } },
  { at: ['services', 'web', 'networks', 'front'], base: {} },
  { at: ['services', 'web', 'secrets', '0'], base: { source: 's' } },
  { at: ['services', 'web', 'configs', '0'], base: { source: 'c' } },
  { at: ['services', 'web', 'develop'], base: {} },
  { at: ['services', 'web', 'develop', 'watch', '0'], base: { path: '.', action: 'sync', target: '/app' } },
  { at: ['services', 'web', 'extends'], base: { service: 'base' } },
  { at: ['services', 'web', 'env_file', '0'], base: { path: '.env' } },
  { at: ['services', 'web', 'blkio_config'], base: {} },
  { at: ['services', 'web', 'credential_spec'], base: {} },
  { at: ['services', 'web', 'ulimits', 'nofile'], base: { soft: 1, hard: 2 } },
  { at: ['services', 'web', 'devices', '0'], base: { source: '/dev/null' } },
  { at: ['services', 'web', 'gpus', '0'], base: {} },
  { at: ['services', 'web', 'provider'], base: { type: 'x' } },
  { at: ['services', 'web', 'post_start', '0'], base: { command: 'true' } },
  { at: ['services', 'web', 'models', 'm'], base: {} },
  { at: ['services', 'web', 'build', 'secrets', '0'], base: { source: 's' } },
  { at: ['services', 'web', 'build', 'ulimits', 'nofile'], base: { soft: 1, hard: 2 } },
  { at: ['services', 'web', 'deploy', 'placement', 'preferences', '0'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources', 'reservations', 'generic_resources', '0'], base: {} },
  { at: ['services', 'web', 'deploy', 'resources', 'reservations', 'generic_resources', '0', 'discrete_resource_spec'], base: {} },
  { at: ['services', 'web', 'develop', 'watch', '0', 'exec'], base: { command: 'true' } },
  { at: ['services', 'web', 'blkio_config', 'device_read_bps', '0'], base: {} },
  { at: ['services', 'web', 'blkio_config', 'weight_device', '0'], base: {} },
  { at: ['services', 'web', 'pre_start', '0'], base: { command: 'true' } },
  { at: ['services', 'web', 'pre_stop', '0'], base: { command: 'true' } },
  { at: ['networks', 'front', 'external'], base: { name: 'x' } },
  { at: ['volumes', 'data', 'external'], base: { name: 'x' } },
  { at: ['networks', 'front'], base: {} },
  { at: ['networks', 'front', 'ipam'], base: {} },
  { at: ['networks', 'front', 'ipam', 'config', '0'], base: {} },
  { at: ['volumes', 'data'], base: {} },
  { at: ['secrets', 's'], base: { file: './s' } },
  { at: ['configs', 'c'], base: { file: './c' } },
  { at: ['include', '0'], base: { path: 'other.yaml' } },
  { at: ['models', 'm'], base: { model: 'ai/model' } },
];

/** A document with `value` at `at` (arrays where the path has an index), under a valid service "web". */
function docWith(at: string[], value: unknown): Json {
  const doc: Json = { services: { web: { image: 'busybox' } } };
  let cur: Json | unknown[] = doc;
  at.forEach((key, i) => {
    const last = i === at.length - 1;
    const nextIsIndex = !last && /^\d+$/.test(at[i + 1]!);
    const container = cur as Record<string, unknown>;
    if (last) container[key] = value;
    else {
      // A mapping on the way gets its own site's valid content (a volume's type and target...).
      const existing = container[key];
      const parent = SITES.find((s) => s.at.join('.') === at.slice(0, i + 1).join('.'));
      const fresh = parent ? structuredClone(parent.base) : nextIsIndex ? [] : {};
      container[key] = existing !== null && typeof existing === 'object' ? existing : fresh;
      cur = container[key] as Json;
    }
  });
  return doc;
}

/** The keys a schema defines for the mapping at a data path (following $ref, oneOf/anyOf branches, items). */
function keysAt(schema: Json, at: string[]): Set<string> {
  const root = schema;
  const resolve = (s: unknown): Json[] => {
    if (s === null || typeof s !== 'object') return [];
    const node = s as Json;
    if (typeof node.$ref === 'string') {
      const target = node.$ref.slice(2).split('/').reduce<unknown>((o, k) => (o as Json)[k], root);
      return resolve(target);
    }
    const branches = [...((node.oneOf as unknown[]) ?? []), ...((node.anyOf as unknown[]) ?? []), ...((node.allOf as unknown[]) ?? [])];
    return [node, ...branches.flatMap(resolve)];
  };
  let nodes = resolve(schema);
  for (const key of at) {
    nodes = nodes.flatMap((n) => {
      const out: unknown[] = [];
      const props = n.properties as Json | undefined;
      if (props && key in props) out.push(props[key]);
      else if (n.patternProperties) {
        for (const [re, sub] of Object.entries(n.patternProperties as Json)) if (new RegExp(re).test(key) && re !== '^x-') out.push(sub);
      }
      if (/^\d+$/.test(key) && n.items) out.push(n.items);
      return out.flatMap(resolve);
    });
  }
  const keys = new Set<string>();
  for (const n of nodes) for (const k of Object.keys((n.properties as Json) ?? {})) keys.add(k);
  return keys;
}

describe('compose schema against the compose-spec schema (oracle)', () => {
  before(async () => {
    assert.ok(existsSync(COMPOSE_GO), `no compose-go conformance data at ${COMPOSE_GO}: set BERTH_CONFORMANCE_DIR`);
    oracleSchema = JSON.parse(await fs.readFile(path.join(COMPOSE_GO, 'schema/compose-spec.json'), 'utf8')) as Json;
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    ajv.addFormat('duration', true);
    oracle = ajv.compile(oracleSchema);
  });

  it("accepts and refuses compose-go's test files as the oracle does", async () => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await fs.readdir(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (/\.ya?ml$/.test(e.name)) files.push(p);
      }
    };
    await walk(path.join(COMPOSE_GO, 'loader/testdata'));
    await walk(path.join(COMPOSE_GO, 'cli/testdata'));
    assert.ok(files.length >= 30, `only ${files.length} fixtures found`);
    const problems: string[] = [];
    let checked = 0;
    for (const file of files) {
      for (const d of parseAllDocuments(await fs.readFile(file, 'utf8'))) {
        const doc = (d as { toJS(): unknown }).toJS() ?? {};
        if (typeof doc !== 'object' || Array.isArray(doc) || Object.keys(doc as Json).length === 0) continue;
        checked++;
        const p = compare(doc, path.relative(COMPOSE_GO, file), '');
        if (p) problems.push(p);
      }
    }
    assert.ok(checked >= 30);
    assert.deepEqual(problems, []);
  });

  it('agrees on every key of every mapping of the spec, with values of every type', () => {
    const problems: string[] = [];
    let count = 0;
    for (const site of SITES) {
      const keys = new Set([...keysAt(oracleSchema, site.at), ...keysAt(composeSpecSchema, site.at), 'bogus_key']);
      assert.ok(keys.size > 1, `no keys found at ${site.at.join('.')}`);
      for (const key of keys) {
        for (const probe of PROBES) {
          const value = { ...(site.base as Json), [key]: probe };
          const doc = site.at.length ? docWith(site.at, value) : value;
          const label = `${[...site.at, key].join('.')} = ${JSON.stringify(probe)}`;
          // A refusal names the key: its path, or the key itself as an unknown one.
          const keyPath = [...site.at, key].join('.');
          const p = compare(doc, label, keyPath, `'${key}'`, [site.at.join('.'), key]);
          if (p) problems.push(p);
          count++;
        }
      }
    }
    // ORACLE_DUMP=file: every disagreement, one a line (the assertion below shows them too, less readably).
    if (process.env.ORACLE_DUMP) writeFileSync(process.env.ORACLE_DUMP, problems.join('\n'));
    assert.ok(count > 3000, `only ${count} documents`);
    assert.deepEqual(problems, []);
  });

  it('agrees on every top-level section given a value of every type, and on names', () => {
    const problems: string[] = [];
    for (const section of ['version', 'name', 'include', 'services', 'networks', 'volumes', 'secrets', 'configs', 'models', 'x-custom', 'bogus']) {
      for (const probe of PROBES) {
        const p = compare({ services: { web: { image: 'busybox' } }, [section]: probe }, `${section} = ${JSON.stringify(probe)}`, '');
        if (p) problems.push(p);
      }
    }
    for (const name of ['web', 'web-1', 'Web', 'a.b', 'a b', 'é', '_x', '-x', '1']) {
      for (const section of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
        const value = section === 'services' ? { image: 'busybox' } : section === 'secrets' || section === 'configs' ? { file: './f' } : {};
        const doc: Json = { services: { web: { image: 'busybox' } } };
        doc[section] = { ...(doc[section] as Json), [name]: value };
        const p = compare(doc, `${section}.${name}`, '');
        if (p) problems.push(p);
        const notMapping = compare({ services: { web: { image: 'busybox' } }, [section]: { [name]: 5 } }, `${section}.${name} = 5`, '');
        if (notMapping) problems.push(notMapping);
      }
      const p = compare({ name: name.toLowerCase(), services: { web: { image: 'busybox' } } }, `name: ${name}`, '');
      if (p) problems.push(p);
    }
    assert.deepEqual(problems, []);
  });
});
