// Placeholder: the command(s) of this file are being written; main.ts reports "not supported yet".
import type { ComposeCommand } from './context.js';

export const commands: Record<string, ComposeCommand> = {};
