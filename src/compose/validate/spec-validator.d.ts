// The compose schema's validator, generated at build time by generate.ts (as spec-validator.js).
import type { SchemaError } from './errors.js';

declare const validate: ((doc: unknown) => boolean) & { errors?: SchemaError[] | null };
export default validate;
