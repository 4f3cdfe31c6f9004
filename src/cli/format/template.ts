// Go text/template as Docker's --format uses it; the engine lives in ./template/.

export { parseTemplate, renderTemplate, type CompiledTemplate, type TemplateOptions } from './template/template.js';
export { goJSON } from './template/funcs.js';
export { formatValue, sprintf } from './template/fmt.js';
