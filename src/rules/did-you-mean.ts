/** Near-miss suggestions for unknown names (`newestPoeAge` → `newestPoeAgeDays`). */


/** ` (did you mean "x"?)` when a known name is close to `value`, else empty. */
export function didYouMean(value: unknown, known: readonly string[]): string {
  if (typeof value !== 'string') return '';
  const wanted = value.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const lower = candidate.toLowerCase();
    // A truncated or extended name (newestPoeAge / newestPoeAgeDays) is a near miss too.
    const prefix = wanted.length >= 4 && (lower.startsWith(wanted) || wanted.startsWith(lower));
    const distance = prefix ? 1 : editDistance(wanted, lower);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(value.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
