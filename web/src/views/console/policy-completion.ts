/**
 * Key completion for policy YAML from the policy's JSON Schema: the path of mappings and list
 * items at the cursor (from indentation, as YAML reads it), then the keys the schema allows there.
 */

/** A key, or a list item. */
export type YamlPathSegment = string | { item: true };

interface SchemaNode {
  $ref?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  then?: SchemaNode;
  else?: SchemaNode;
  definitions?: Record<string, SchemaNode>;
}

export interface KeyAtCursor {
  /** Where the key being typed starts (the completion replaces from there). */
  from: number;
  /** The mappings and list items that hold it, outermost first. */
  path: YamlPathSegment[];
}

const KEY_LINE = /^(\s*)((?:-\s+)*)([^\s#'"-][^:#]*?)\s*:(?:\s|$)/;

/** The key typed at `offset` of `text` and where it sits, or undefined when the cursor is not at a key. */
export function keyAtCursor(text: string, offset: number): KeyAtCursor | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const typed = /^(\s*)((?:-\s+)?)([A-Za-z_$][\w$]*)?$/.exec(before);
  if (!typed) return undefined;
  const dashColumn = typed[1]!.length;
  const keyColumn = dashColumn + typed[2]!.length;
  const path: YamlPathSegment[] = [];
  let threshold = keyColumn;
  if (typed[2]) {
    path.unshift({ item: true });
    threshold = dashColumn;
  }
  const lines = text.slice(0, lineStart).split('\n');
  for (let i = lines.length - 1; i >= 0 && threshold > 0; i--) {
    const line = lines[i]!;
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const match = KEY_LINE.exec(line);
    const dashes = match ? match[2]! : /^\s*((?:-\s+)*)/.exec(line)![1]!;
    const lineKeyColumn = indent + dashes.length;
    if (match && lineKeyColumn < threshold) {
      path.unshift(match[3]!.trim());
      threshold = lineKeyColumn;
    }
    // `- key: value`: the dashes open list items (one per dash) that hold the key.
    const dashColumns = [...dashes.matchAll(/-\s+/g)].map((m) => indent + m.index);
    for (const column of dashColumns.reverse()) {
      if (column < threshold) {
        path.unshift({ item: true });
        threshold = column;
      }
    }
  }
  return { from: offset - (typed[3]?.length ?? 0), path };
}

/** The keys the schema allows in the mapping at `path`, with their descriptions. */
export function keysAt(schema: object, path: readonly YamlPathSegment[]): Array<{ key: string; description?: string }> {
  const root = schema as SchemaNode;
  const resolve = (node: SchemaNode | undefined, depth = 0): SchemaNode[] => {
    if (!node || depth > 8) return [];
    if (node.$ref) {
      const name = node.$ref.replace(/^#\/definitions\//, '');
      return resolve(root.definitions?.[name], depth + 1);
    }
    const branches = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? []), ...(node.then ? [node.then] : []), ...(node.else ? [node.else] : [])];
    return [node, ...branches.flatMap((branch) => resolve(branch, depth + 1))];
  };
  let nodes = resolve(root);
  for (const segment of path) {
    nodes = nodes.flatMap((node) => {
      if (typeof segment !== 'string') return resolve(node.items);
      const named = node.properties?.[segment];
      if (named) return resolve(named);
      const patterned = Object.values(node.patternProperties ?? {});
      if (patterned.length) return patterned.flatMap((p) => resolve(p));
      return typeof node.additionalProperties === 'object' ? resolve(node.additionalProperties) : [];
    });
  }
  const keys = new Map<string, string | undefined>();
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node.properties ?? {})) {
      if (!keys.has(key) || keys.get(key) === undefined) keys.set(key, value.description ?? resolve(value)[0]?.description);
    }
  }
  return [...keys].map(([key, description]) => (description === undefined ? { key } : { key, description }));
}
