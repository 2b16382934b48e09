#!/usr/bin/env node
// The `cpor` command. It runs the compiled build in dist/ (`npm run build`; `npm ci` builds it)
// with plain node. When src/ is newer than that build (a developer edited it and runs the CLI,
// or a test that spawns it, before rebuilding), it runs the current sources through tsx (a
// devDependency) instead, so an old build never hides an edit.
import { fileURLToPath } from 'node:url';
import { distExists, distIsCurrent } from '../scripts/dist-state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

async function loadMain() {
  if (distIsCurrent(root)) return (await import('../dist/cli.js')).main;
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    // No tsx (an install without devDependencies): the build there is the one to run.
    if (distExists(root)) return (await import('../dist/cli.js')).main;
    process.stderr.write('cpor: no build in dist/: run `npm run build` (npm ci runs it)\n');
    process.exit(1);
  }
  register();
  return (await import('../src/cli.ts')).main;
}

const main = await loadMain();
process.exitCode = await main(process.argv.slice(2));
