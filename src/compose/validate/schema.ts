// Schema validation of one compose file (after interpolation, before merge) against the compose
// specification (spec-schema.ts), then the value checks a schema cannot express (sizes, port specs,
// IP addresses, mutually exclusive keys: values.ts). Errors name the file and the key path as Docker
// Compose words them: `validating /p/compose.yaml: services.web.ports.0 must be a number`.
//
// The validator is the schema compiled by ajv at build time (generate.ts writes spec-validator.js):
// compiling it at run time would cost every compose command ~0.4 s.
import { ComposeError } from '../types.js';
import { translate, type SchemaError } from './errors.js';
import validate from './spec-validator.js';
import { checkValues } from './values.js';

/**
 * Validates one file's YAML document. `file` is the name printed in errors (the file's absolute path,
 * or "-" for standard input). Throws a ComposeError naming the file and the key path.
 */
export function validateSchema(doc: unknown, file: string): void {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ComposeError('top-level object must be a mapping');
  }
  if (!validate(doc)) throw new ComposeError(`validating ${file}: ${translate((validate.errors ?? []) as SchemaError[], doc)}`);
  const problem = checkValues(doc as Record<string, unknown>);
  if (problem) throw new ComposeError(`validating ${file}: ${problem}`);
}
