/**
 * The one owner of "where in the YAML is this path": policy files, scenario files and
 * `cpor evaluate` inputs all report problems at a line and column found here.
 */
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';

export type YamlPathSegment = string | number;

/**
 * Where a map entry is reported: always at its `key`; at its `value`; or, as policy
 * files do, at its key when the value is empty or a block collection (where the entry
 * starts) and at the value itself otherwise (`keyOfBlock`).
 */
type EntryAnchor = 'key' | 'value' | 'keyOfBlock';

/** The start offset of a node (of a pair's key). */
export function startOf(node: unknown): number | undefined {
  if (isPair(node)) return startOf(node.key);
  return (node as Node | null)?.range?.[0];
}

/**
 * The offset to report for a path into `doc`: map entries as `anchor` says (the last one
 * at its key when `lastAtKey`), sequence items where they start, through aliases; the
 * nearest existing ancestor when the path goes beyond the document (a missing property).
 */
export function offsetOfPath(doc: Document, segments: readonly YamlPathSegment[], anchor: EntryAnchor, lastAtKey = false): number {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of segments.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    const last = index === segments.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      const keyOffset = startOf(pair.key) ?? offset;
      const value = pair.value;
      if ((last && lastAtKey) || anchor === 'key') offset = keyOffset;
      else if (anchor === 'value') offset = startOf(value) ?? keyOffset;
      else offset = value === null || (isCollection(value) && !value.flow) ? keyOffset : (startOf(value) ?? keyOffset);
      node = value;
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(segment)];
      if (item === undefined) break;
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** `/steps/0/at` → ['steps', '0', 'at']. */
export function segmentsOfPointer(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `$.claim.history[0].at` → ['claim', 'history', 0, 'at']. */
export function segmentsOfJsonPath(path: string): YamlPathSegment[] {
  const segments: YamlPathSegment[] = [];
  for (const match of path.matchAll(/\.([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g)) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(JSON.parse(match[3]!) as string);
  }
  return segments;
}
