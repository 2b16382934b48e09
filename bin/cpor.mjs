#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx, so the installed command never drifts from src/.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
