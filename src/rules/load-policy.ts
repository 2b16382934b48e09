/**
 * Reads a policy YAML file into a validated, deeply frozen `Policy`. Every issue
 * (YAML syntax, unsafe YAML, schema, semantics) carries its file, line and column.
 */
import { readFile } from 'node:fs/promises';
import type { ErrorObject } from 'ajv';
import { LineCounter, isCollection, isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import { EVENT_TYPES, STATE_IDS, isInAnyState, isInState } from '../domain/claim-types';
import { parseInstant, parseLocalDate } from '../domain/instants';
import { createAjv } from '../domain/json-schema';
import { offsetOfPath, startOf } from '../domain/yaml-locate';
import { policySchema } from './policy-schema';
import { SYSTEM_ROLE } from './policy-types';
import type { Condition, Policy } from './policy-types';

export interface PolicyIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSONPath of the offending value, e.g. `$.deadlines.reviewStart.runsIn[0]`. */
  path: string;
  code: string;
  message: string;
  severity: 'error' | 'warning';
}

export type PolicyLoadResult =
  | { ok: true; policy: Policy; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[]; warnings: PolicyIssue[] };

/** Thrown by callers that prefer an exception to a `PolicyLoadResult`. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[]) {
    const errors = issues.filter((i) => i.severity === 'error');
    const first = errors[0] ?? issues[0];
    super(
      first
        ? `Invalid policy: ${formatIssue(first)}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
        : 'Invalid policy',
    );
    this.issues = issues;
  }
}

/** One located line: `policies/x.yaml:12:5 error unknownState $.deadlines.a.runsIn[0]: ...`. */
export function formatIssue(issue: PolicyIssue): string {
  return `${issue.file}:${issue.line}:${issue.column} ${issue.severity} ${issue.code} ${issue.path}: ${issue.message}`;
}

/** Reads and parses a policy file; a missing or unreadable file is an issue, not a throw. */
export async function loadPolicyFile(path: string): Promise<PolicyLoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const issue: PolicyIssue = {
      file: path,
      line: 1,
      column: 1,
      path: '$',
      code: code === 'ENOENT' ? 'fileNotFound' : 'unreadableFile',
      message:
        code === 'ENOENT'
          ? 'No such policy file.'
          : `The policy file cannot be read: ${(error as Error).message}.`,
      severity: 'error',
    };
    return { ok: false, errors: [issue], warnings: [] };
  }
  return parsePolicy(text, path);
}

/** Parses policy YAML text (pure): YAML, safety, schema, then semantic checks. */
export function parsePolicy(text: string, file: string): PolicyLoadResult {
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
    return result([
      located.atOffset(
        tooDeep.range?.[0] ?? 0,
        'nestingTooDeep',
        `The policy nests deeper than ${MAX_POLICY_DEPTH} levels here (a condition's all/any/not, say): flatten it.`,
      ),
    ]);
  }

  const yamlIssues = checkYaml(doc, text, located);
  if (yamlIssues.some((i) => i.severity === 'error')) return result(yamlIssues);

  let data: unknown;
  try {
    data = toPlainData(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
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
    return result([...yamlIssues, issue]);
  }

  const valid = validate(data);
  const schemaErrors = valid ? [] : [...(validate.errors ?? [])];
  // Semantic checks run on the parts the schema found well-formed, so one lint shows every error.
  const issues = [
    ...yamlIssues,
    ...[...schemaIssues(schemaErrors, data), ...semanticIssues(data as Policy, wellFormed(schemaErrors))].map((i) =>
      located.resolve(i),
    ),
  ];
  if (!valid || issues.some((i) => i.severity === 'error')) return result(issues);
  return { ok: true, policy: deepFreeze(data as Policy), warnings: sortIssues(dedupe(issues)) };
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

// ---------------------------------------------------------------------------
// Issues before location

type Segment = string | number;

interface RawIssue {
  segments: Segment[];
  /** Point at the key of the last segment (an unknown or duplicated key), not its value. */
  atKey?: boolean;
  code: string;
  message: string;
  severity?: 'error' | 'warning';
}

function result(issues: PolicyIssue[]): PolicyLoadResult {
  const sorted = sortIssues(dedupe(issues));
  return {
    ok: false,
    errors: sorted.filter((i) => i.severity === 'error'),
    warnings: sorted.filter((i) => i.severity === 'warning'),
  };
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.line}:${i.column}:${i.code}:${i.path}:${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `$.deadlines.reviewStart.runsIn[0]`; keys that are not identifiers are bracketed. */
function toJsonPath(segments: readonly Segment[]): string {
  return segments.reduce<string>((path, segment) => {
    if (typeof segment === 'number') return `${path}[${segment}]`;
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(segment)) return `${path}.${segment}`;
    return `${path}['${segment.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }, '$');
}

// ---------------------------------------------------------------------------
// Locations: from a path (or an offset) to the node in the YAML document

class Locator {
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

// ---------------------------------------------------------------------------
// YAML: syntax and safety

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

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

// ---------------------------------------------------------------------------
// Schema

const validate = createAjv({ allErrors: true, verbose: true, useDefaults: true, strictRequired: false }).compile(policySchema);

// Keyed by the schema object an error comes from (ajv's `parentSchema`): schema
// paths are relative to whichever definition ajv compiled separately.
const { definitions, properties } = policySchema;

const ENUM_CODES = new Map<object, { code: string; what: string }>([
  [definitions.stateId, { code: 'unknownState', what: 'state' }],
  [definitions.eventType, { code: 'unknownEvent', what: 'event' }],
  [definitions.claimField, { code: 'unknownField', what: 'claim field' }],
  [definitions.factName, { code: 'unknownFact', what: 'fact' }],
  [definitions.operator, { code: 'unknownOperator', what: 'operator' }],
  [definitions.weekday, { code: 'unknownWeekday', what: 'weekday' }],
  [definitions.role.properties.kind, { code: 'unknownRoleKind', what: 'role kind' }],
]);

const UNKNOWN_KEY_CODES = new Map<object, { code: string; what: string; known: readonly string[] }>([
  [properties.events, { code: 'unknownEvent', what: 'event', known: EVENT_TYPES }],
  [properties.editableFields, { code: 'unknownState', what: 'state', known: STATE_IDS }],
]);

const ONE_OF_MESSAGES = new Map<object, { none: string; several: string }>([
  [
    definitions.deadline,
    {
      none: 'A deadline needs a duration: businessDays: N or days: N.',
      several: 'A deadline has one duration: businessDays or days, not both.',
    },
  ],
  [
    definitions.deadlineAction,
    {
      none: 'onDue needs one of escalate: true, send: EVENT (with an optional with: {...}), or closes: [EVENTS].',
      several: 'onDue does one thing: escalate, send or closes, not several.',
    },
  ],
  [
    definitions.condition,
    {
      none: 'A condition needs one of all: [...], any: [...], not: {...}, or fact/operator/value.',
      several: 'A condition is one of all, any, not or a fact comparison; combine several under all: [...] or any: [...].',
    },
  ],
]);

function schemaIssues(errors: ErrorObject[], data: unknown): RawIssue[] {
  // oneOf branches only list required keys: the oneOf error itself says it better.
  let relevant = errors.filter((e) => !/\/oneOf\/\d+\//.test(e.schemaPath));
  // An unknown key usually explains the missing or conflicting ones beside it, and
  // a value of the wrong type has no keys to miss.
  const explained = new Set(
    relevant.filter((e) => e.keyword === 'additionalProperties' || e.keyword === 'type').map((e) => e.instancePath),
  );
  relevant = relevant.filter(
    (e) => !(['required', 'oneOf', 'dependencies'].includes(e.keyword) && explained.has(e.instancePath)),
  );
  const missingEvents = relevant.filter((e) => e.keyword === 'required' && e.parentSchema === properties.events);
  const issues = relevant
    .filter((e) => !missingEvents.includes(e))
    .map((error) => schemaIssue(error, segmentsOf(error.instancePath, data)));
  if (missingEvents.length) {
    const names = missingEvents.map((e) => String((e.params as { missingProperty: string }).missingProperty));
    issues.push({
      segments: ['events'],
      code: 'missingEvent',
      message: `${names.length > 1 ? 'Events' : 'Event'} ${names.join(', ')} missing: every event needs an entry with its roles ([system] for events only deadlines send).`,
    });
  }
  return issues;
}

function schemaIssue(error: ErrorObject, segments: Segment[]): RawIssue {
  const params = error.params as Record<string, unknown>;
  const where = segments.length ? toJsonPath(segments) : 'the policy';
  switch (error.keyword) {
    case 'enum': {
      const known = (params.allowedValues as unknown[]).map(String);
      const mapped = ENUM_CODES.get(error.parentSchema ?? {});
      const what = mapped?.what ?? 'value';
      return {
        segments,
        code: mapped?.code ?? 'schema',
        message: `Unknown ${what} ${JSON.stringify(error.data)}${didYouMean(error.data, known)}; known ${what === 'value' ? 'values' : `${what}s`}: ${known.join(', ')}.`,
      };
    }
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const mapped = UNKNOWN_KEY_CODES.get(error.parentSchema ?? {});
      if (mapped) {
        return {
          segments: [...segments, key],
          atKey: true,
          code: mapped.code,
          message: `Unknown ${mapped.what} "${key}"${didYouMean(key, mapped.known)}; known ${mapped.what}s: ${mapped.known.join(', ')}.`,
        };
      }
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return {
        segments: [...segments, key],
        atKey: true,
        code: 'unknownProperty',
        message: `Unknown property "${key}" in ${where}${didYouMean(key, allowed)}; allowed: ${allowed.join(', ')}.`,
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const described = (error.parentSchema?.properties as Record<string, { description?: string }> | undefined)?.[missing]
        ?.description;
      return {
        segments,
        code: 'missingProperty',
        message: `${where === 'the policy' ? 'The policy' : where} needs "${missing}"${described ? `: ${described}` : '.'}`,
      };
    }
    case 'oneOf': {
      const messages = ONE_OF_MESSAGES.get(error.parentSchema ?? {});
      const several = Array.isArray(params.passingSchemas);
      return { segments, code: 'schema', message: (several ? messages?.several : messages?.none) ?? `${where} ${error.message}.` };
    }
    case 'dependencies':
      return {
        segments,
        code: 'missingProperty',
        message: `${where} has "${String(params.property)}" but not "${String(params.missingProperty)}": ${
          params.property === 'with' ? 'with: is the payload of send:' : 'a comparison needs fact, operator and value'
        }.`,
      };
    case 'type': {
      const quote =
        params.type === 'string' && (typeof error.data === 'number' || typeof error.data === 'boolean')
          ? ` (quote it: "${String(error.data)}")`
          : '';
      return { segments, code: 'schema', message: `Must be ${article(String(params.type))}${quote}.` };
    }
    case 'uniqueItems': {
      const [i, j] = [Number(params.i), Number(params.j)];
      return {
        segments: [...segments, Math.max(i, j)],
        code: 'duplicateItem',
        message: `${JSON.stringify((error.data as unknown[])[Math.max(i, j)])} is listed twice (also at ${toJsonPath([...segments, Math.min(i, j)])}).`,
      };
    }
    case 'const':
      return { segments, code: 'schema', message: `Must be ${JSON.stringify(params.allowedValue)}.` };
    case 'format':
      return {
        segments,
        code: 'schema',
        message:
          params.format === 'date-time'
            ? `${JSON.stringify(error.data)} ${impossibleInstant(error.data) ?? 'is not an ISO-8601 date-time with a time zone (e.g. 2026-01-01T00:00:00Z)'}.`
            : `Must match format ${String(params.format)}.`,
      };
    case 'pattern':
      return {
        segments,
        code: 'schema',
        message: segments.includes('holidays')
          ? `${JSON.stringify(error.data)} is not a date written YYYY-MM-DD.`
          : `${JSON.stringify(error.data)} must match ${String(params.pattern)}.`,
      };
    default:
      return { segments, code: 'schema', message: `${capitalize(error.message ?? 'is invalid')}.` };
  }
}

/** Why a well-formed instant is not a real one (`is not a real instant: …`), or undefined. */
function impossibleInstant(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseInstant(value);
  return !parsed.ok && parsed.problem.startsWith('is not a real instant') ? parsed.problem : undefined;
}

function article(type: string): string {
  const noun = type === 'integer' ? 'an integer' : type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : `a ${type}`;
  return noun;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** An ajv instancePath (`/deadlines/a/runsIn/0`) as path segments, numbers where the data is a list. */
function segmentsOf(instancePath: string, data: unknown): Segment[] {
  if (!instancePath) return [];
  const segments: Segment[] = [];
  let node = data;
  for (const part of instancePath.slice(1).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return segments;
}

function didYouMean(value: unknown, known: readonly string[]): string {
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

// ---------------------------------------------------------------------------
// Semantics: what the schema cannot express

/** Rejection reasons the service itself gives, and which event and role kind give them. */
const REQUIRED_REASONS = [
  { code: 'partnerRequest', event: 'withdraw', kind: 'partner' },
  { code: 'customerDecline', event: 'denyConsent', kind: 'customer' },
] as const;

const CODE_LISTS = [
  { key: 'rejectionReasons', what: 'rejection reason' },
  { key: 'deficiencies', what: 'deficiency' },
  { key: 'submissionRequirements', what: 'submission requirement' },
  { key: 'incentivePrograms', what: 'incentive program' },
] as const;

/**
 * Whether the schema found nothing wrong at, under or above each of these JSON
 * pointers (`/events`), so a semantic check may read them as typed.
 */
function wellFormed(errors: ErrorObject[]): (...pointers: string[]) => boolean {
  const touched = errors.map((e) => {
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required') return `${e.instancePath}/${String(params.missingProperty)}`;
    if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(params.additionalProperty)}`;
    return e.instancePath;
  });
  const overlap = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  return (...pointers) => !touched.some((t) => pointers.some((p) => overlap(t, p)));
}

function semanticIssues(policy: Policy, wellFormed: (...pointers: string[]) => boolean): RawIssue[] {
  const issues: RawIssue[] = [];
  const error = (segments: Segment[], code: string, message: string, atKey = false) =>
    issues.push({ segments, code, message, atKey });
  const warning = (segments: Segment[], code: string, message: string, atKey = false) =>
    issues.push({ segments, code, message, atKey, severity: 'warning' });

  if (wellFormed('/calendar')) checkCalendar(policy, error);
  if (wellFormed('/roles', '/events', '/rejectionReasons')) checkRoles(policy, error, warning);
  for (const { key, what } of CODE_LISTS) {
    if (wellFormed(`/${key}`)) checkDuplicateCodes(policy[key], key, what, error);
  }
  if (wellFormed('/editableFields')) checkEditableFields(policy, error);
  const deadlines: unknown = (policy as Partial<Policy> | null)?.deadlines;
  for (const name of deadlines !== null && typeof deadlines === 'object' ? Object.keys(deadlines) : []) {
    if (wellFormed(`/deadlines/${escapePointer(name)}`, '/events', '/rejectionReasons')) checkDeadline(policy, name, error);
  }
  if (wellFormed('/deficiencies')) {
    policy.deficiencies.forEach((deficiency, i) => {
      if (deficiency.when === undefined) {
        warning(
          ['deficiencies', i],
          'noWhen',
          `Deficiency ${deficiency.code} has no when: it is never detected automatically, only cited by reviewers.`,
        );
      }
    });
  }
  if (wellFormed('/incentivePrograms')) {
    policy.incentivePrograms.forEach((program, i) => {
      if (isEmptyCondition(program.eligibility)) {
        warning(
          ['incentivePrograms', i, 'eligibility'],
          'noWhen',
          `Incentive program ${program.code} has no eligibility conditions: every claim assessed is eligible.`,
        );
      }
    });
  }
  return issues;
}

type Report = (segments: Segment[], code: string, message: string, atKey?: boolean) => void;

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function checkCalendar(policy: Policy, error: Report): void {
  const { timeZone, holidays } = policy.calendar;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    error(
      ['calendar', 'timeZone'],
      'unknownTimeZone',
      `Unknown time zone "${timeZone}": use an IANA name such as UTC, America/Los_Angeles or Europe/Berlin.`,
    );
  }
  holidays.forEach((date, i) => {
    if (!parseLocalDate(date).ok) error(['calendar', 'holidays', i], 'invalidDate', `${date} is not a date in the calendar.`);
  });
}

function checkRoles(policy: Policy, error: Report, warning: Report): void {
  const roleNames = Object.keys(policy.roles);
  const isRole = (role: string) => role === SYSTEM_ROLE || Object.hasOwn(policy.roles, role);
  const unknownRole = (role: string) =>
    `Unknown role "${role}"${didYouMean(role, roleNames)}; defined roles: ${[...roleNames, SYSTEM_ROLE].join(', ')}.`;

  if (Object.hasOwn(policy.roles, SYSTEM_ROLE)) {
    error(['roles', SYSTEM_ROLE], 'reservedRole', `"${SYSTEM_ROLE}" is the service itself (deadlines); it cannot be defined as a role.`, true);
  }
  for (const [event, { roles }] of Object.entries(policy.events)) {
    if (roles.length === 0) {
      error(['events', event, 'roles'], 'eventWithoutRole', `Nobody may send ${event}: list at least one role (or system).`);
    }
    roles.forEach((role, i) => {
      if (!isRole(role)) error(['events', event, 'roles', i], 'unknownRole', unknownRole(role));
    });
  }
  policy.rejectionReasons.forEach((reason, i) => {
    if (reason.usableBy.length === 0) {
      error(
        ['rejectionReasons', i, 'usableBy'],
        'reasonWithoutRole',
        `Nobody may use rejection reason ${reason.code}: list at least one role (or system).`,
      );
    }
    reason.usableBy.forEach((role, j) => {
      if (!isRole(role)) error(['rejectionReasons', i, 'usableBy', j], 'unknownRole', unknownRole(role));
    });
  });

  for (const { code, event, kind } of REQUIRED_REASONS) {
    const index = policy.rejectionReasons.findIndex((r) => r.code === code);
    const needed = policy.events[event].roles.filter((role) => policy.roles[role]?.kind === kind);
    if (index < 0) {
      error(
        ['rejectionReasons'],
        'missingRejectionReason',
        `Rejection reason "${code}" is missing: the service rejects with it on ${event}${needed.length ? ` (by ${needed.join(', ')})` : ''}.`,
      );
      continue;
    }
    const usableBy = policy.rejectionReasons[index]!.usableBy;
    const lacking = needed.filter((role) => !usableBy.includes(role));
    if (lacking.length) {
      error(
        ['rejectionReasons', index, 'usableBy'],
        'reasonNotUsable',
        `Rejection reason ${code} must be usable by ${lacking.join(', ')}: ${lacking.length > 1 ? 'they' : 'it'} may ${event}, which rejects with ${code}.`,
      );
    }
  }

  const usedRoles = new Set([
    ...Object.values(policy.events).flatMap((e) => e.roles),
    ...policy.rejectionReasons.flatMap((r) => r.usableBy),
  ]);
  for (const [role, { kind }] of Object.entries(policy.roles)) {
    // Internal roles read and never act on claims: not being in events is their purpose.
    if (kind !== 'internal' && !usedRoles.has(role)) {
      warning(['roles', role], 'unusedRole', `Role ${role} may send no event and use no rejection reason.`, true);
    }
  }
}

function checkDuplicateCodes(list: ReadonlyArray<{ code: string }>, key: string, what: string, error: Report): void {
  const first = new Map<string, number>();
  list.forEach(({ code }, i) => {
    const earlier = first.get(code);
    if (earlier === undefined) first.set(code, i);
    else error([key, i, 'code'], 'duplicateCode', `Duplicate ${what} code "${code}" (also at ${toJsonPath([key, earlier, 'code'])}).`);
  });
}

function checkEditableFields(policy: Policy, error: Report): void {
  for (const [state, fields] of Object.entries(policy.editableFields)) {
    (fields ?? []).forEach((field, i) => {
      if (field === 'partnerId') {
        error(['editableFields', state, i], 'immutableField', 'partnerId is never editable: the owner of a claim never changes.');
      }
    });
  }
}

function checkDeadline(policy: Policy, name: string, error: Report): void {
  const deadline = policy.deadlines[name]!;
  const base = ['deadlines', name];
  const pausedIn = deadline.pausedIn ?? [];
  if (deadline.runsIn.length === 0) {
    error([...base, 'runsIn'], 'deadlineNeverStarts', `Deadline ${name} never starts: runsIn lists no state.`);
  } else if (deadline.runsIn.every((state) => isInAnyState(state, pausedIn))) {
    error([...base, 'pausedIn'], 'deadlineNeverStarts', `Deadline ${name} never starts: every runsIn state is also in pausedIn.`);
  } else {
    pausedIn.forEach((paused, i) => {
      const clash = deadline.runsIn.find((state) => overlaps(state, paused));
      if (clash) {
        error(
          [...base, 'pausedIn', i],
          'deadlineStateOverlap',
          `${paused} is in both runsIn (${clash}) and pausedIn of deadline ${name}: a state either runs or pauses the clock.`,
        );
      }
    });
  }

  const onDue = deadline.onDue;
  if (!('send' in onDue)) return;
  if (!policy.events[onDue.send]?.roles.includes(SYSTEM_ROLE)) {
    error(
      [...base, 'onDue', 'send'],
      'systemCannotSend',
      `Deadline ${name} sends ${onDue.send}, but events.${onDue.send}.roles does not include system.`,
    );
  }
  if (onDue.send !== 'reject') return;
  const reason = onDue.with?.reason;
  const index = policy.rejectionReasons.findIndex((r) => r.code === reason);
  const systemReasons = policy.rejectionReasons.filter((r) => r.usableBy.includes(SYSTEM_ROLE)).map((r) => r.code);
  const hint = systemReasons.length ? `; reasons usable by system: ${systemReasons.join(', ')}` : '';
  if (reason === undefined) {
    error(
      [...base, 'onDue', ...(onDue.with ? ['with'] : [])],
      'missingRejectionReason',
      `Deadline ${name} rejects without a reason: add with: { reason: CODE }${hint}.`,
    );
  } else if (index < 0) {
    error(
      [...base, 'onDue', 'with', 'reason'],
      'unknownRejectionReason',
      `Unknown rejection reason ${JSON.stringify(reason)}${didYouMean(reason, policy.rejectionReasons.map((r) => r.code))}${hint}.`,
    );
  } else if (!policy.rejectionReasons[index]!.usableBy.includes(SYSTEM_ROLE)) {
    error(
      [...base, 'onDue', 'with', 'reason'],
      'reasonNotUsable',
      `Rejection reason ${String(reason)} is not usable by system (add system to its usableBy)${hint}.`,
    );
  }
}

function overlaps(a: string, b: string): boolean {
  return isInState(a, b) || isInState(b, a);
}

function isEmptyCondition(condition: Condition): boolean {
  return ('all' in condition && condition.all.length === 0) || ('any' in condition && condition.any.length === 0);
}

/** A second file with the same id and version but other content, located at its `version:` key. */
export function duplicateIssue(file: string, text: string, policy: Policy, earlierFile: string): PolicyIssue {
  const match = /^version[ \t]*:/m.exec(text);
  const before = text.slice(0, match?.index ?? 0).split('\n');
  return {
    file,
    line: before.length,
    column: before[before.length - 1]!.length + 1,
    path: '$.version',
    code: 'duplicateVersion',
    message: `Duplicate version ${policy.id} ${policy.version} in ${earlierFile} and ${file} with different content: give this file a new version.`,
    severity: 'error',
  };
}
