// Whether dist/ (the compiled build, `npm run build`) holds the current sources: its mark,
// dist/.built, written last by scripts/build.mjs, is newer than every file under src/ and
// migrations/. bin/cpor.mjs runs dist/ only then, so an edit to src/ is never hidden by an old build.
// It runs before every command: one listing per folder and one stat per file, paths joined as text.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a file under `dir` was modified after `time` (ms); false when `dir` does not exist. */
function changedSince(dir, time) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory() ? changedSince(path, time) : entry.isFile() && statSync(path).mtimeMs > time) return true;
  }
  return false;
}

/** `root`: the project folder (holding src/, migrations/ and dist/). */
export function distIsCurrent(root) {
  const mark = join(root, 'dist', '.built');
  const built = statSync(mark, { throwIfNoEntry: false });
  if (!built) return false;
  return !changedSince(join(root, 'src'), built.mtimeMs) && !changedSince(join(root, 'migrations'), built.mtimeMs);
}

/** Whether a build exists at all (current or not). */
export function distExists(root) {
  return existsSync(join(root, 'dist', '.built'));
}
