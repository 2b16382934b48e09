#!/usr/bin/env node
// The `cpor` command. It runs the compiled build in dist/ (`npm run build`; `npm ci` builds it)
// with plain node. When src/ is newer than that build (a developer edited it and runs the CLI,
// or a test that spawns it, before rebuilding), it runs the current sources through tsx (a
// devDependency) instead, so an old build never hides an edit.
//
// `cpor serve` runs dist/cli.cjs, the same CLI as one CommonJS file, with the V8 code cache the
// build wrote for it (scripts/code-cache.mjs): the service starts without compiling its code
// afresh. CPOR_WRITE_CODE_CACHE=1 (the build's run) writes that cache when the command ends.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_BUNDLE, loadServiceBundle } from '../scripts/code-cache.mjs';
import { distExists, distIsCurrent } from '../scripts/dist-state.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const args = process.argv.slice(2);

async function loadBuilt() {
  if (args[0] === 'serve' && existsSync(join(dist, SERVICE_BUNDLE))) {
    const bundle = loadServiceBundle(dist);
    if (process.env.CPOR_WRITE_CODE_CACHE !== '1') return bundle.exports.main;
    return async (argv) => {
      const code = await bundle.exports.main(argv);
      bundle.writeCache();
      return code;
    };
  }
  return (await import('../dist/cli.js')).main;
}

async function loadMain() {
  if (distIsCurrent(root)) return loadBuilt();
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    // No tsx (an install without devDependencies): the build there is the one to run.
    if (distExists(root)) return loadBuilt();
    process.stderr.write('cpor: no build in dist/: run `npm run build` (npm ci runs it)\n');
    process.exit(1);
  }
  register();
  return (await import('../src/cli.ts')).main;
}

const main = await loadMain();
process.exitCode = await main(args);
