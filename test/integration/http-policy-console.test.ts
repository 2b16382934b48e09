/**
 * The policy console's API over a policy folder: versions with their claims and shadow mark,
 * lint (located issues, never a 500 on any text), diff of two versions or a draft, reading and
 * saving policy files (atomically, linted first, reloaded, logged with who saved).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyRegistry, type PolicyRegistry } from '../../src/policies/policy-registry';
import { withShadowFlag } from '../../src/policies/save-policy-file';
import { httpHelpers, type HttpHelpers } from '../support/http-requests';
import { bundledPolicyText, positionOf } from '../support/policy-factory';
import { createTestApp, type TestApp } from '../support/test-app';

/** The bundled policy as version 2026.2, in effect from April 2026, partners given 10 business days. */
const version2 = () =>
  bundledPolicyText()
    .replace('version: "2026.1"', 'version: "2026.2"')
    .replace('effective: 2026-01-01T00:00:00Z', 'effective: 2026-04-01T00:00:00Z')
    .replace(/(partnerResponse:[\s\S]*?businessDays: )5/, '$110');

/** The bundled policy with an unknown top-level key on line 9. */
const withBogusKey = () => bundledPolicyText().replace('name: Claimed', 'bogus: 1\nname: Claimed');

let dir: string;
let registry: PolicyRegistry;
let t: TestApp;
let h: HttpHelpers;

async function start(path: string) {
  const clock = { now: () => t?.clock.now() ?? new Date('2026-03-02T17:00:00Z') };
  registry = await createPolicyRegistry({ path, clock });
  t = await createTestApp({ policies: registry });
  h = httpHelpers(t);
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpor-console-'));
  writeFileSync(join(dir, 'cpor.yaml'), bundledPolicyText());
  writeFileSync(join(dir, 'cpor-2026.2.yaml'), version2());
  await start(dir);
});
afterEach(async () => {
  registry.stop();
  await t.close();
  rmSync(dir, { recursive: true, force: true });
});

const lint = async (text: string, type = 'application/yaml', caller: 'programManager' | 'reviewer' | 'partner' = 'programManager') =>
  h.api().post('/v1/policies/lint').set('Authorization', await h.auth(caller)).set('Content-Type', type).send(text);

const save = async (file: string, text: string, query = '', caller: 'programManager' | 'reviewer' = 'programManager') =>
  h.api().put(`/v1/policies/files/${file}${query}`).set('Authorization', await h.auth(caller)).set('Content-Type', 'application/yaml').send(text);

describe('GET /v1/policies for the console', () => {
  it('counts the claims that follow each version, names its file, and marks shadow versions', async () => {
    await h.createClaim();
    await h.createClaim();
    writeFileSync(join(dir, 'candidate.yaml'), withShadowFlag(version2().replace('version: "2026.2"', 'version: "2026.3"')));
    await registry.reload();
    const res = await h.api().get('/v1/policies').set('Authorization', await h.auth('programManager'));
    expect(res.status).toBe(200);
    expect(res.body.versions.map((v: Record<string, unknown>) => [v.version, v.file, v.claims, v.shadow, v.inEffect])).toEqual([
      ['2026.1', 'cpor.yaml', 2, false, true],
      ['2026.2', 'cpor-2026.2.yaml', 0, false, false],
      ['2026.3', 'candidate.yaml', 0, true, false],
    ]);
  });
});

describe('POST /v1/policies/lint', () => {
  it('reports each issue with line, column, code, message and JSONPath, as `cpor policy lint` does', async () => {
    const text = withBogusKey();
    const res = await lint(text);
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(false);
    expect(res.body.policy).toBeNull();
    expect(res.body.issues).toEqual([
      { ...positionOf(text, 'bogus: 1'), code: 'unknownProperty', path: '$.bogus', message: expect.stringContaining('Unknown property "bogus"'), severity: 'error' },
    ]);
  });

  it('answers ok with the version a valid text declares, for text/plain too', async () => {
    const res = await lint(version2(), 'text/plain', 'reviewer');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, policy: { id: 'cpor', version: '2026.2', effective: '2026-04-01T00:00:00.000Z', shadow: false }, issues: [] });
  });

  it('refuses partners (403), JSON bodies (415) and texts over the body limit (413)', async () => {
    expect((await lint('id: x', 'application/yaml', 'partner')).body.code).toBe('forbiddenRole');
    const json = await h.api().post('/v1/policies/lint').set('Authorization', await h.auth('programManager')).send({ policy: 'id: x' });
    expect([json.status, json.body.code]).toEqual([415, 'unsupportedMediaType']);
    const huge = await lint(`id: x\ndescription: "${'x'.repeat(300 * 1024)}"\n`);
    expect([huge.status, huge.body.code]).toEqual([413, 'bodyTooLarge']);
  });

  it('never answers 500 on any text: random strings and random edits of the bundled policy get located issues', async () => {
    const base = bundledPolicyText();
    const edit = fc.tuple(fc.nat(base.length), fc.nat(40), fc.string({ maxLength: 12, unit: fc.constantFrom(...':-[]{}#&*!|>\'"%@` \n\tab1') }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), edit.map(([at, cut, insert]) => base.slice(0, at) + insert + base.slice(at + cut))), async (text) => {
        const res = await lint(text);
        expect(res.status).toBe(200);
        for (const issue of res.body.issues as Array<{ line: number; column: number }>) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.column).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('the policy diff', () => {
  it('GET /v1/policies/diff lists the changes from one loaded version to another, by section', async () => {
    const res = await h.api().get('/v1/policies/diff?from=2026.1&to=2026.2').set('Authorization', await h.auth('reviewer'));
    expect(res.status).toBe(200);
    expect(res.body.from).toEqual({ id: 'cpor', version: '2026.1' });
    expect(res.body.to).toEqual({ id: 'cpor', version: '2026.2' });
    expect(res.body.sections).toContain('deadlines');
    expect(res.body.changes).toContainEqual(
      expect.objectContaining({ section: 'deadlines', key: 'deadlines.partnerResponse.businessDays', kind: 'changed', before: 5, after: 10 }),
    );
  });

  it('POST /v1/policies/diff compares a draft with a loaded version; a broken draft is a located 422', async () => {
    const draft = bundledPolicyText().replace('version: "2026.1"', 'version: "draft"').replace(/(decisionTarget:[\s\S]*?businessDays: )10/, '$112');
    const res = await h.api().post('/v1/policies/diff?from=2026.1').set('Authorization', await h.auth('programManager')).set('Content-Type', 'application/yaml').send(draft);
    expect(res.status).toBe(200);
    expect(res.body.changes.map((c: { key: string }) => c.key)).toEqual(['version', 'deadlines.decisionTarget.businessDays']);
    const broken = await h.api().post('/v1/policies/diff?from=2026.1').set('Authorization', await h.auth('programManager')).set('Content-Type', 'application/yaml').send(withBogusKey());
    expect(broken.status).toBe(422);
    expect(broken.body).toMatchObject({ code: 'invalidPolicy', errors: [{ line: 9, column: 1, path: '$.bogus', code: 'unknownProperty' }] });
  });

  it('answers 404 for a version that is not loaded and 400 without both versions', async () => {
    const auth = await h.auth('reviewer');
    const unknown = await h.api().get('/v1/policies/diff?from=2026.1&to=1999.9').set('Authorization', auth);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'unknownPolicyVersion']);
    const missing = await h.api().get('/v1/policies/diff?from=2026.1').set('Authorization', auth);
    expect([missing.status, missing.body.code]).toEqual([400, 'invalidQuery']);
  });
});

describe('GET /v1/policies/schema', () => {
  it('answers the policy JSON Schema the editor completes keys from (policies/policy.schema.json)', async () => {
    const res = await h.api().get('/v1/policies/schema').set('Authorization', await h.auth('programManager'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'policies', 'policy.schema.json'), 'utf8')));
  });
});

describe('policy files', () => {
  it('GET /v1/policies/files/{file} answers the text; a missing file is 404', async () => {
    const auth = await h.auth('programManager');
    const res = await h.api().get('/v1/policies/files/cpor.yaml').set('Authorization', auth).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.text).toBe(bundledPolicyText());
    const missing = await h.api().get('/v1/policies/files/nothing.yaml').set('Authorization', auth);
    expect([missing.status, missing.body.code]).toEqual([404, 'policyFileNotFound']);
  });

  it('PUT saves a new version, reloads, answers it as loaded and logs who saved it', async () => {
    const text = version2().replace('version: "2026.2"', 'version: "2026.4"');
    const res = await save('cpor-2026.4.yaml', text);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ file: 'cpor-2026.4.yaml', created: true, version: { id: 'cpor', version: '2026.4', shadow: false } });
    expect(readFileSync(join(dir, 'cpor-2026.4.yaml'), 'utf8')).toBe(text);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(registry.list().map((v) => v.version)).toContain('2026.4');
    expect(t.logs).toContainEqual(
      expect.objectContaining({ level: 30, msg: 'policy file saved', file: 'cpor-2026.4.yaml', version: '2026.4', by: { id: expect.any(String), role: 'programManager' } }),
    );
  });

  it('PUT ?shadow=true writes `shadow: true` into the file, keeping its comments, and the version is listed as shadow', async () => {
    const text = version2().replace('version: "2026.2"', 'version: "2026.5"');
    const res = await save('candidate.yaml', text, '?shadow=true');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.version).toMatchObject({ version: '2026.5', shadow: true });
    const written = readFileSync(join(dir, 'candidate.yaml'), 'utf8');
    expect(written).toContain('effective: 2026-04-01T00:00:00Z\nshadow: true\n');
    expect(written).toContain('# US federal holidays as observed');
    const listed = await h.api().get('/v1/policies').set('Authorization', await h.auth('reviewer'));
    expect(listed.body.versions.find((v: { version: string }) => v.version === '2026.5')).toMatchObject({ shadow: true, file: 'candidate.yaml' });
  });

  it('PUT refuses broken YAML with its located issues (422) and writes nothing', async () => {
    const res = await save('broken.yaml', withBogusKey());
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'invalidPolicy', errors: [{ line: 9, column: 1, code: 'unknownProperty', path: '$.bogus' }] });
    expect(existsSync(join(dir, 'broken.yaml'))).toBe(false);
  });

  it('PUT refuses other content under a version another file serves (422 duplicateVersion)', async () => {
    const res = await save('copy.yaml', version2().replace('businessDays: 10', 'businessDays: 11'));
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'duplicateVersion', path: '$.version' })]);
    expect(existsSync(join(dir, 'copy.yaml'))).toBe(false);
  });

  it('PUT takes only plain lower-case *.yaml / *.yml names (400) and only program managers (403)', async () => {
    for (const name of ['%2E%2E%2Fescape.yaml', 'Cpor.yaml', '.hidden.yaml', 'policy.json', 'sub%2Fcpor.yaml']) {
      const res = await save(name, version2());
      expect([res.status, res.body.code], name).toEqual([400, 'invalidPolicyFileName']);
    }
    const reviewer = await save('cpor-2026.2.yaml', version2(), '', 'reviewer');
    expect([reviewer.status, reviewer.body.code]).toEqual([403, 'forbiddenRole']);
    expect(readdirSync(dir).sort()).toEqual(['cpor-2026.2.yaml', 'cpor.yaml']);
  });

  it('PUT answers 409 policyDirectoryRequired when the service runs on a single policy file', async () => {
    registry.stop();
    await t.close();
    await start(join(dir, 'cpor.yaml'));
    const res = await save('cpor.yaml', bundledPolicyText());
    expect([res.status, res.body.code]).toEqual([409, 'policyDirectoryRequired']);
  });
});
