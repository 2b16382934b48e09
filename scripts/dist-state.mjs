// Whether dist/ (the compiled build, `npm run build`) holds the current sources: its mark,
// dist/.built, written last by scripts/build.mjs, is newer than every file under src/ and
// migrations/. bin/cpor.mjs runs dist/ only then, so an edit to src/ is never hidden by an old build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time (ms) of the files under `dir`; 0 when it does not exist. */
function newestFile(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  let newest = 0;
  for (const entry of entries) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** `root`: the project folder (holding src/, migrations/ and dist/). */
export function distIsCurrent(root) {
  const mark = join(root, 'dist', '.built');
  if (!existsSync(mark)) return false;
  const builtAt = statSync(mark).mtimeMs;
  return newestFile(join(root, 'src')) <= builtAt && newestFile(join(root, 'migrations')) <= builtAt;
}

/** Whether a build exists at all (current or not). */
export function distExists(root) {
  return existsSync(join(root, 'dist', '.built'));
}
