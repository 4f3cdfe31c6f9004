// ajv's errors in Docker Compose's words. Compose (compose-go's schema package) reports one error: the
// most specific one, i.e. the deepest key path, an unknown key counting one level deeper than a wrong
// value at the same place, the first one found on a tie (so a value matching no branch of a `oneOf`
// is reported against the first branch: `environment: "A=1"` → "must be a mapping"). ajv (allErrors)
// lists its errors in the order it checked them, which is the order of the schema's branches.
import { parseDurationNs } from '../loader/units.js';

/** The parts of ajv's ErrorObject used here. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
}

/** The message for ajv's errors on `doc` (the document validated, where the values shown are read). */
export function translate(errors: SchemaError[], doc: unknown): string {
  let best: SchemaError | undefined;
  let bestScore = -1;
  for (const e of errors) {
    const score = specificity(e);
    if (score > bestScore) {
      best = e;
      bestScore = score;
    }
  }
  if (!best) return 'invalid compose file';
  // Compose lists every unknown (or missing) key of the mapping in one message; ajv gives one error each.
  const siblings = errors.filter((e) => e.keyword === best.keyword && e.instancePath === best.instancePath);
  return `${keyPath(best.instancePath)} ${describe(best, siblings, valueAt(doc, best.instancePath))}`;
}

function valueAt(doc: unknown, instancePath: string): unknown {
  let v = doc;
  for (const key of segments(instancePath)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

function segments(instancePath: string): string[] {
  return instancePath === '' ? [] : instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function specificity(e: SchemaError): number {
  // A failed oneOf says less than the branch errors checked before it at the same place.
  if (e.keyword === 'oneOf' || e.keyword === 'anyOf') return segments(e.instancePath).length - 0.5;
  return segments(e.instancePath).length + (e.keyword === 'additionalProperties' ? 1 : 0);
}

/** "services.web.ports.0"; the document itself is "(root)". */
export function keyPath(instancePath: string): string {
  const parts = segments(instancePath);
  return parts.length ? parts.join('.') : '(root)';
}

function describe(e: SchemaError, siblings: SchemaError[], value: unknown): string {
  const p = e.params;
  switch (e.keyword) {
    case 'type':
      return `must be a ${humanType(p.type)}`;
    case 'additionalProperties':
      return `additional properties ${siblings.map((s) => quote(String(s.params.additionalProperty))).join(', ')} not allowed`;
    case 'required': {
      const missing = siblings.map((s) => quote(String(s.params.missingProperty)));
      return missing.length === 1 ? `missing property ${missing[0]}` : `missing properties ${missing.join(', ')}`;
    }
    case 'minimum':
    case 'exclusiveMinimum':
      return `must be greater than or equal to ${String(p.limit)}`;
    case 'maximum':
    case 'exclusiveMaximum':
      return `must be less than or equal to ${String(p.limit)}`;
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(display);
      return allowed.length === 1 ? `value must be ${allowed[0]}` : `value must be one of ${allowed.join(', ')}`;
    }
    case 'const':
      return `value must be ${display(p.allowedValue)}`;
    case 'pattern':
      return `${quote(String(value))} does not match pattern ${quote(String(p.pattern))}`;
    case 'format':
      return `${display(value)} is not valid ${String(p.format)}: ${formatError(String(p.format), value)}`;
    case 'uniqueItems':
      return `items at ${Math.min(Number(p.i), Number(p.j))} and ${Math.max(Number(p.i), Number(p.j))} are equal`;
    case 'oneOf':
      return Array.isArray(p.passingSchemas)
        ? `oneOf failed, subschemas ${(p.passingSchemas as number[]).join(', ')} matched`
        : 'oneOf failed, none matched';
    case 'minItems':
      return `minItems: got ${Array.isArray(value) ? value.length : 0}, want ${String(p.limit)}`;
    default:
      return `is invalid (${e.keyword})`;
  }
}

/** JSON-schema type names as Compose says them: "object" is a mapping; several are sorted and joined. */
function humanType(type: unknown): string {
  const one = (t: string): string => (t === 'object' ? 'mapping' : t);
  const types = (Array.isArray(type) ? type : String(type).split(',')).map((t) => one(String(t)));
  if (types.length === 1) return types[0]!;
  types.sort();
  return `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`;
}

/** Why a value failed a format (the Go parser's own message, as Compose prints it). */
function formatError(format: string, value: unknown): string {
  if (format === 'duration') {
    try {
      parseDurationNs(String(value));
    } catch (err) {
      return (err as Error).message;
    }
  }
  return 'invalid';
}

/** A value in single quotes as Compose's validator shows it ('web', 'a\'b'). */
function quote(s: string): string {
  return `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

function display(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (v !== null && typeof v === 'object') return 'value';
  return String(v);
}
