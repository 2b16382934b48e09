/** Locations in a policy's YAML document: from a path (or an offset) to line and column. */
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { isMap, isScalar, isSeq } from 'yaml';
import { offsetOfPath, startOf } from '../domain/yaml-locate';
import { toJsonPath, type PolicyIssue, type RawIssue, type Segment } from './policy-issues';

/** Turns issues into located ones: by the path of the data, or by an offset in the text. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly file: string,
  ) {}

  resolve(raw: RawIssue): PolicyIssue {
    return this.issue(offsetOfPath(this.doc, raw.segments, 'keyOfBlock', raw.atKey ?? false), raw.segments, raw);
  }

  atOffset(offset: number, code: string, message: string, severity: 'error' | 'warning' = 'error'): PolicyIssue {
    const { segments, atKey } = pathAtOffset(this.doc, offset);
    return this.issue(offset, segments, { segments, atKey, code, message, severity });
  }

  private issue(offset: number, segments: Segment[], raw: RawIssue): PolicyIssue {
    const { line, col } = this.lines.linePos(offset);
    return {
      file: this.file,
      line,
      column: col,
      path: toJsonPath(segments),
      code: raw.code,
      message: raw.message,
      severity: raw.severity ?? 'error',
    };
  }
}


/** The path of the node at an offset (for YAML parser errors, which only have offsets). */
function pathAtOffset(doc: Document, offset: number): { segments: Segment[]; atKey: boolean } {
  const segments: Segment[] = [];
  let node: unknown = doc.contents;
  const contains = (n: unknown) => {
    const range = (n as YamlNode | null)?.range;
    return !!range && range[0] <= offset && offset < Math.max(range[2], range[0] + 1);
  };
  // A tag or anchor sits between a key and its value's range.
  const spans = (pair: { key: unknown; value: unknown }) => {
    const start = startOf(pair.key);
    const end = (pair.value as YamlNode | null)?.range?.[2];
    return start !== undefined && end !== undefined && start <= offset && offset < end;
  };
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => contains(p.key) || contains(p.value) || spans(p));
      if (!pair || !isScalar(pair.key)) break;
      segments.push(String(pair.key.value));
      if (contains(pair.key)) return { segments, atKey: true };
      node = pair.value;
    } else if (isSeq(node)) {
      // The first item not ending before the offset (a tag precedes its item's range).
      const index = node.items.findIndex((item) => ((item as YamlNode | null)?.range?.[2] ?? -1) > offset);
      if (index < 0) break;
      segments.push(index);
      node = node.items[index];
    } else {
      break;
    }
  }
  return { segments, atKey: false };
}
