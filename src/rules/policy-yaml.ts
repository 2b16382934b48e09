/**
 * A policy's YAML: parsed strictly (YAML 1.2 core schema, unique keys), refused when
 * unsafe (custom tags, prototype keys, alias bombs, deep nesting), read into plain data.
 */
import { LineCounter, isCollection, isPair, isScalar, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { startOf } from '../domain/yaml-locate';
import type { PolicyIssue } from './policy-issues';
import { Locator } from './policy-locator';

export type PolicyYaml =
  | { ok: true; data: unknown; located: Locator; warnings: PolicyIssue[] }
  | { ok: false; issues: PolicyIssue[] };

/** Parses policy YAML text into plain data, or the issues that stop it (warnings are kept for later). */
export function readPolicyYaml(text: string, file: string): PolicyYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    merge: false,
    resolveKnownTags: false,
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter,
  });
  const located = new Locator(doc, lineCounter, file);

  // Before anything walks the tree recursively (checks, toJS, the schema, the rule engines).
  const tooDeep = deepestBeyond(doc.contents, MAX_POLICY_DEPTH);
  if (tooDeep) {
    return {
      ok: false,
      issues: [
        located.atOffset(
          tooDeep.range?.[0] ?? 0,
          'nestingTooDeep',
          `The policy nests deeper than ${MAX_POLICY_DEPTH} levels here (a condition's all/any/not, say): flatten it.`,
        ),
      ],
    };
  }

  const yamlIssues = checkYaml(doc, text, located);
  if (yamlIssues.some((i) => i.severity === 'error')) return { ok: false, issues: yamlIssues };

  try {
    return { ok: true, data: toPlainData(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })), located, warnings: yamlIssues };
  } catch (error) {
    // yaml throws when expanding aliases would exceed maxAliasCount (a "billion laughs" file).
    const tooManyAliases = error instanceof ReferenceError && /alias count/i.test(error.message);
    const issue = tooManyAliases
      ? located.atOffset(
          findFirstAlias(doc)?.range?.[0] ?? 0,
          'aliasLimit',
          `Aliases expand to too many values (limit ${MAX_ALIAS_COUNT}): write the values out instead of nesting aliases.`,
        )
      : located.atOffset(0, 'yamlSyntax', `The YAML cannot be read: ${(error as Error).message}.`);
    return { ok: false, issues: [...yamlIssues, issue] };
  }
}

/** Deepest nesting of mappings and sequences a policy file may have. */
const MAX_POLICY_DEPTH = 64;

/** The first node nested deeper than `max` collections (walked without recursion), if any. */
function deepestBeyond(root: unknown, max: number): YamlNode | undefined {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: root, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (!isCollection(node)) continue;
    if (depth + 1 > max) return node as YamlNode;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        stack.push({ node: item.key, depth: depth + 1 }, { node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return undefined;
}

const MAX_ALIAS_COUNT = 100;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const CORE_TAGS = new Set(
  ['str', 'map', 'seq', 'null', 'bool', 'int', 'float'].map((t) => `tag:yaml.org,2002:${t}`).concat('!'),
);

function checkYaml(doc: Document, text: string, located: Locator): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const error of doc.errors) {
    issues.push(
      located.atOffset(
        error.pos[0],
        error.code === 'DUPLICATE_KEY' ? 'duplicateKey' : 'yamlSyntax',
        error.code === 'DUPLICATE_KEY'
          ? `Duplicate key "${text.slice(error.pos[0], error.pos[1])}": each key may appear once in a mapping.`
          : sentence(error.message),
      ),
    );
  }
  const tagOffsets = new Set<number>();
  for (const warning of doc.warnings) {
    if (warning.code === 'TAG_RESOLVE_FAILED') {
      tagOffsets.add(warning.pos[0]);
      issues.push(located.atOffset(warning.pos[0], 'customTag', customTagMessage(text.slice(warning.pos[0], warning.pos[1]))));
    } else {
      issues.push(located.atOffset(warning.pos[0], 'yamlWarning', sentence(warning.message), 'warning'));
    }
  }
  visit(doc, {
    Node(_, node) {
      // Tags that resolved anyway (a backstop: only the core schema's tags are allowed).
      if (node.tag && !CORE_TAGS.has(node.tag) && tagOffsets.size === 0) {
        issues.push(located.atOffset(node.range?.[0] ?? 0, 'customTag', customTagMessage(node.tag)));
      }
    },
    Alias(_, alias) {
      if (alias.resolve(doc) === undefined) {
        issues.push(
          located.atOffset(
            alias.range?.[0] ?? 0,
            'yamlSyntax',
            `Unresolved alias *${alias.source}: define the anchor &${alias.source} before using it.`,
          ),
        );
      }
    },
    Pair(_, pair) {
      const key = pair.key;
      if (isScalar(key) && FORBIDDEN_KEYS.has(String(key.value))) {
        issues.push(
          located.atOffset(
            startOf(key) ?? 0,
            'forbiddenKey',
            `The key "${String(key.value)}" is not allowed in a policy (it could alter object prototypes).`,
          ),
        );
      } else if (key !== null && !isScalar(key)) {
        issues.push(located.atOffset(startOf(key) ?? 0, 'complexKey', 'Keys must be plain scalars, not collections or aliases.'));
      }
    },
  });
  return issues;
}

function customTagMessage(tag: string): string {
  return `Custom tag ${tag} is not allowed: policies use plain YAML (strings, numbers, booleans, null, lists, mappings) only.`;
}

function sentence(message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

function findFirstAlias(doc: Document): YamlNode | undefined {
  let found: YamlNode | undefined;
  visit(doc, {
    Alias(_, alias) {
      found = alias;
      return visit.BREAK;
    },
  });
  return found;
}

/** A fresh copy built only of plain JSON values (no shared references, no prototypes but Object's). */
function toPlainData(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toPlainData);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) continue; // refused earlier with its location; never copied
      out[key] = toPlainData(inner);
    }
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return value;
  }
  return String(value);
}
