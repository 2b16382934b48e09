// Preloaded with `node --import` by test/integration/compiled-build-startup.test.ts: when the
// process exits, writes the files of every CommonJS module it loaded (from node_modules too, and
// those an ES module imported) to the file CPOR_LOADED_MODULES_FILE names, one a line.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const file = process.env.CPOR_LOADED_MODULES_FILE;
if (file) process.on('exit', () => writeFileSync(file, `${Object.keys(require.cache).join('\n')}\n`));
