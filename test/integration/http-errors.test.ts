import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { generateKeyPair, SignJWT } from 'jose';
import { documentedRequest as request } from '../support/documented-requests';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mintToken } from '../../src/auth/mint-token';
import { loadConfig } from '../../src/config';
import { SQLITE_FILE_NAME } from '../../src/db/database';
import { PROBLEM_CONTENT_TYPE } from '../../src/http/errors';
import { ALLOWED_POE_TYPES } from '../../src/poe/allowed-poe-types';
import { startService, type RunningService } from '../../src/server';
import { BUNDLED_POLICY_PATH } from '../support/bundled-policy';
import { claimFieldsSchema, EVENT_PAYLOAD_SCHEMAS } from '../../src/machines/event-payloads';
import { claimFields } from '../support/factories';
import { SERVICE_DATABASES, useDatabase } from '../support/databases';
import { CALLERS, httpHelpers } from '../support/http-requests';
import { concretePath, registeredRoutes } from '../support/http-routes';
import { capturingLogger, createTestApp, type TestApp, type TestAppOptions } from '../support/test-app';

const PROBLEM_KEYS = ['type', 'title', 'status', 'detail', 'code', 'instance'];
const expectProblem = (res: { status: number; headers: Record<string, string>; body: Record<string, unknown> }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Object.keys(res.body)).toEqual(expect.arrayContaining(PROBLEM_KEYS));
  expect(res.body).toMatchObject({ status, code, type: `urn:problem-type:cpor:${code}` });
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+:\d+:\d+|node_modules|\/src\//);
};

describe.each(SERVICE_DATABASES)('on $name', (db) => {
  useDatabase(db);
  let t: TestApp;
  let h: ReturnType<typeof httpHelpers>;
  const start = async (options: TestAppOptions = {}) => {
    await t?.close();
    t = await createTestApp({ database: db, ...options });
    h = httpHelpers(t);
  };
  beforeEach(() => start());
  afterEach(async () => {
    await t.close();
  });

  describe('problem details', () => {
    it('invalid input answers every problem with its JSONPath', async () => {
      const fields = claimFields();
      const res = await h.api()
        .post('/v1/claims')
        .set('Authorization', await h.auth('partner'))
        .send({
          ...fields,
          customer: { ...fields.customer, tenantId: 'contoso' },
          products: [{ line: 'microsoft365', workload: 'minecraft' }],
          customerContact: { name: 'Ana' },
        });
      expectProblem(res, 400, 'invalidPayload');
      expect(res.body).toMatchObject({ title: 'Bad Request', instance: '/v1/claims' });
      expect(res.body.errors).toEqual(
        expect.arrayContaining([
          { path: '$.customer.tenantId', message: 'must match format "uuid"' },
          expect.objectContaining({ path: '$.products[0].workload' }),
          { path: '$.customerContact.email', message: '"email" is required' },
        ]),
      );
      expect(res.body.detail).toContain('$.');
    });

    it('a refusal by the domain keeps its code and sentence; facts behind it come as details', async () => {
      const { id, etag } = await h.createClaim();
      const res = await h.api().post(`/v1/claims/${id}/actions/submit`).set('Authorization', await h.auth('partner')).set('If-Match', etag).send({});
      expectProblem(res, 409, 'requirementsNotMet');
      expect(res.body.detail).toMatch(/Upload at least one proof-of-execution document/);
      expect(res.body.details).toMatchObject({ failed: [expect.objectContaining({ code: 'poeRequired' })] });

      const id2 = await h.submittedClaim();
      await h.actOk(id2, 'startReview', 'reviewer');
      const reason = await h.act(id2, 'reject', 'reviewer', { reason: 'partnerRequest' });
      expectProblem(reason, 403, 'reasonNotAllowed');
      const unknown = await h.act(id2, 'requestInfo', 'reviewer', { deficiencies: ['missingAllPoe', 'typo'], comment: 'x' });
      expectProblem(unknown, 400, 'unknownDeficiencyCode');
      expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '$.deficiencies[1]' })]);
    });

    it('malformed JSON is a 400, a body over the limit a 413, a body that is not JSON a 415', async () => {
      await start({ limits: { jsonBodyBytes: 1024 } });
      const auth = await h.auth('partner');
      const malformed = await h.api().post('/v1/claims').set('Authorization', auth).set('Content-Type', 'application/json').send('{"partnerId": "45');
      expectProblem(malformed, 400, 'malformedJson');
      expect(malformed.body.errors).toEqual([{ path: '$', message: 'is not valid JSON' }]);

      const large = await h.api().post('/v1/claims').set('Authorization', auth).send({ ...claimFields(), name: 'x'.repeat(2000) });
      expectProblem(large, 413, 'bodyTooLarge');

      const text = await h.api().post('/v1/claims').set('Authorization', auth).set('Content-Type', 'text/plain').send('partnerId=1');
      expectProblem(text, 415, 'unsupportedMediaType');

      const array = await h.api().post('/v1/claims').set('Authorization', auth).send([claimFields()]);
      expectProblem(array, 400, 'invalidPayload');
      expect(array.body.errors[0]).toMatchObject({ path: '$' });
    });

    it('the default JSON body limit is 256 KiB', async () => {
      const auth = await h.auth('partner');
      const { id } = await h.createClaim();
      const just = await h.api().post(`/v1/claims/${id}/comments`).set('Authorization', auth).send({ text: 'x'.repeat(9_000) });
      expect(just.status).toBe(201);
      const over = await h.api().post(`/v1/claims/${id}/comments`).set('Authorization', auth).set('Content-Type', 'application/json').send(`{"text":"${'x'.repeat(256 * 1024)}"}`);
      expectProblem(over, 413, 'bodyTooLarge');
    });

    it('an unknown route is a 404 problem; an unknown action lists the actions', async () => {
      const route = await h.api().get('/v1/nothing-here');
      expectProblem(route, 404, 'routeNotFound');
      expect(route.body.instance).toBe('/v1/nothing-here');
      const deeper = await h.api().get('/v1/claims/abc/nothing');
      expectProblem(deeper, 404, 'routeNotFound');

      const { id } = await h.createClaim();
      const action = await h.api().post(`/v1/claims/${id}/actions/approveEverything`).set('Authorization', await h.auth('reviewer')).send({});
      expectProblem(action, 404, 'unknownAction');
      expect(action.body.actions).toEqual(['removePoe', 'submit', 'startReview', 'requestInfo', 'resubmit', 'approve', 'reject', 'withdraw', 'denyConsent', 'dispute', 'resolveDispute']);
      for (const notAnAction of ['create', 'edit', 'uploadPoe', 'comment', 'sendForAssessment']) {
        const res = await h.api().post(`/v1/claims/${id}/actions/${notAnAction}`).set('Authorization', await h.auth('partner')).set('If-Match', '"1"').send({});
        expect(res.body.code, notAnAction).toBe('unknownAction');
      }
    });

    it('a malformed percent-encoding in a path is a 400 malformedPath, with or without a token, and logs nothing', async () => {
      const anonymous = await h.api().get('/v1/claims/%ZZ');
      expectProblem(anonymous, 400, 'malformedPath');
      expect(anonymous.body.errors).toEqual([{ path: '$.path', message: expect.stringContaining('percent-encoding') }]);
      const withToken = await h.api().get('/v1/claims/%E0%A4%A').set('Authorization', await h.auth('reviewer'));
      expectProblem(withToken, 400, 'malformedPath');
      const nested = await h.api().post('/v1/claims/abc%/actions/submit').send({});
      expectProblem(nested, 400, 'malformedPath');
      expect(t.logs.filter((line) => (line.level as number) >= 40)).toEqual([]);
    });

    it('an unsupported method on a known path is a 405 problem with Allow listing the path\'s methods', async () => {
      const cases: Array<[method: 'delete' | 'put' | 'patch' | 'get' | 'post', path: string, allow: string]> = [
        ['delete', '/v1/claims', 'POST, GET, HEAD'],
        ['put', '/v1/claims/some-id', 'GET, PATCH, HEAD'],
        ['get', '/v1/claims/some-id/actions/submit', 'POST'],
        ['delete', '/v1/claims/some-id/poe/some-poe', 'GET, HEAD'],
        ['post', '/healthz', 'GET, HEAD'],
        ['patch', '/openapi.json', 'GET, HEAD'],
        ['get', '/v1/simulate', 'POST'],
      ];
      for (const [method, path, allow] of cases) {
        const res = await h.api()[method](path);
        expectProblem(res, 405, 'methodNotAllowed');
        expect(res.headers.allow, `${method} ${path}`).toBe(allow);
        expect(res.body.instance).toBe(path);
      }
      // Without a token too, and whatever the case or a trailing slash (Express matches paths so).
      expect((await h.api().delete('/V1/Claims/')).headers.allow).toBe('POST, GET, HEAD');
    });

    it('a fault is a 500 without a stack or the error message, logged with the error; refusals are not logged', async () => {
      await h.createClaim();
      expect(t.logs).toEqual([]);
      t.store.listClaims = async () => {
        throw new Error('connection refused at 10.0.0.7:5432');
      };
      const res = await h.api().get('/v1/claims').set('Authorization', await h.auth('reviewer'));
      expectProblem(res, 500, 'internalError');
      expect(JSON.stringify(res.body)).not.toContain('10.0.0.7');
      expect(JSON.stringify(res.body)).not.toContain('stack');
      expect(t.logs).toHaveLength(1);
      expect(t.logs[0]).toMatchObject({ level: 50, msg: 'request failed', method: 'GET', url: '/v1/claims' });
      expect(t.logs[0]!.err).toMatchObject({ message: 'connection refused at 10.0.0.7:5432' });
      expect(String((t.logs[0]!.err as { stack: string }).stack)).toContain('Error: connection refused');
    });
  });

  describe('CSV reports', () => {
    it('the assessment CSV neutralises customer names a spreadsheet would run as formulas (line feed, space, semicolon, full-width signs)', async () => {
      const names = ['\n=1+1', ' =1+1', ';=1+1', '\uFF1D1+1', '\uFF20SUM(A1)'];
      for (const name of names) {
        const { id } = await h.createClaim({ customer: { ...claimFields().customer, name } });
        expect((await h.uploadPoe(id)).status).toBe(201);
        await h.actOk(id, 'submit', 'partner');
        await h.actOk(id, 'startReview', 'reviewer');
        await h.actOk(id, 'approve', 'reviewer', {});
      }
      await t.advance('2026-03-20T07:00:00.000Z'); // every consent window has passed
      const csv = await h.api().get('/v1/reports/assessment?format=csv').set('Authorization', await h.auth('reviewer'));
      expect(csv.status).toBe(200);
      expect(csv.text).toContain(`,"'\n=1+1",`);
      for (const name of names.slice(1)) expect(csv.text).toContain(`,'${name},`);
    });
  });

  describe('operations', () => {
    it('healthz answers while the process is up; readyz asks the readiness check', async () => {
      expect((await h.api().get('/healthz')).body).toEqual({ status: 'ok' });
      expect((await h.api().get('/readyz')).status).toBe(200);
      await start({ ready: async () => ({ ok: false, details: { database: 'unreachable' } }) });
      const notReady = await h.api().get('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toEqual({ status: 'unavailable', details: { database: 'unreachable' } });
    });

    it('metrics count requests by route template and status, next to the process metrics', async () => {
      const { id } = await h.createClaim();
      await h.getClaim(id);
      await h.api().get('/v1/claims/unknown').set('Authorization', await h.auth('reviewer'));
      const res = await h.api().get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toContain('http_request_duration_seconds_count{method="GET",route="/v1/claims/:id",status_code="200"} 1');
      expect(res.text).toContain('http_request_duration_seconds_count{method="GET",route="/v1/claims/:id",status_code="404"} 1');
      expect(res.text).not.toContain(id);
      expect(res.text).toContain('process_cpu_user_seconds_total');
    });

    it('answers with security headers and without x-powered-by', async () => {
      const res = await h.api().get('/healthz');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'cache-control': 'no-store' });
    });
  });

  describe('openapi.json', () => {
    type Operation = {
      security?: unknown[];
      requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
      responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
      parameters?: Array<{ name: string; in: string; required: boolean }>;
    };
    let doc: { openapi: string; paths: Record<string, Record<string, Operation>>; components: Record<string, Record<string, unknown>> };
    beforeEach(async () => {
      const res = await h.api().get('/openapi.json');
      expect(res.status).toBe(200);
      doc = res.body;
    });

    it('documents every route registered in the app, and nothing else', () => {
      const registered = registeredRoutes(t.app).map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`));
      expect(doc.openapi).toBe('3.1.0');
      expect(registered.length).toBeGreaterThanOrEqual(17);
      expect([...documented].sort()).toEqual([...registered].sort());
    });

    it('request bodies are the schemas that validate them; errors are problem+json; bearer auth except operations', () => {
      const schemas = doc.components.schemas as Record<string, unknown>;
      const create = doc.paths['/v1/claims']!.post!;
      expect(create.requestBody!.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/ClaimFields' });
      expect(schemas.ClaimFields).toEqual(JSON.parse(JSON.stringify(claimFieldsSchema)));
      expect(doc.paths['/v1/claims/{id}']!.patch!.requestBody!.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/EditPayload' });
      for (const [event, schema] of Object.entries(EVENT_PAYLOAD_SCHEMAS)) {
        expect(schemas[`${event[0]!.toUpperCase()}${event.slice(1)}Payload`], event).toEqual(JSON.parse(JSON.stringify(schema)));
      }
      expect(doc.paths['/v1/claims/{id}/poe']!.post!.requestBody!.content).toHaveProperty('multipart/form-data');

      const problem = doc.components.responses!.Problem400 as { content: Record<string, unknown> };
      expect(Object.keys(problem.content)).toEqual(['application/problem+json']);
      expect(doc.components.securitySchemes).toEqual({ bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }) });
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const op of Object.values(ops)) {
          // /v1/auth/* tell a client how to sign in, and the sign-in page lists the policy's roles: they need no token.
          if (path.startsWith('/v1/') && !path.startsWith('/v1/auth/') && path !== '/v1/policies/current') {
            expect(op.security, path).toBeUndefined();
            expect(op.responses['401'], path).toEqual({ $ref: '#/components/responses/Problem401' });
          } else expect(op.security, path).toEqual([]);
          expect(op.responses['500']).toEqual({ $ref: '#/components/responses/Problem500' });
        }
      }
      const patchHeaders = doc.paths['/v1/claims/{id}']!.patch!.parameters!.filter((p) => p.in === 'header');
      expect(patchHeaders).toEqual([expect.objectContaining({ name: 'If-Match', required: true })]);
      expect(doc.paths['/v1/claims']!.get!.parameters!.map((p) => p.name)).toEqual(['status', 'overdue', 'tenantId', 'partnerId', 'q', 'conflicted', 'limit', 'cursor']);
    });

    it('documents PoE downloads with the accepted PoE content types', () => {
      const download = doc.paths['/v1/claims/{id}/poe/{poeId}']!.get!.responses['200']!;
      expect(Object.keys(download.content!).sort()).toEqual([...ALLOWED_POE_TYPES.map((t) => t.contentType), 'application/octet-stream'].sort());
    });

    it('documents date parameters with format date or date-time, not only a pattern', () => {
      const param = (path: string, method: string, name: string) =>
        (doc.paths[path]![method]!.parameters as unknown as Array<{ name: string; schema: { anyOf?: Array<{ format: string }> } }>).find((p) => p.name === name)!;
      for (const [path, method, name] of [
        ['/v1/reports/assessment', 'get', 'from'],
        ['/v1/reports/assessment', 'get', 'to'],
        ['/v1/backtest', 'post', 'since'],
      ] as const) {
        expect(param(path, method, name).schema.anyOf?.map((s) => s.format), `${path} ${name}`).toEqual(['date', 'date-time']);
      }
      expect(param('/v1/backtest', 'post', 'until').schema).toMatchObject({ format: 'date-time' });
    });

    it('documents 503 (with Retry-After) and 401 on every authenticated operation, 400 wherever a path has a parameter', () => {
      expect(doc.components.responses!.Problem503).toMatchObject({ headers: { 'Retry-After': expect.any(Object) } });
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const op of Object.values(ops)) {
          if (path.startsWith('/v1/') && !path.startsWith('/v1/auth/') && path !== '/v1/policies/current') expect(op.responses['503'], path).toEqual({ $ref: '#/components/responses/Problem503' });
          if (path.includes('{')) expect(op.responses['400'], path).toEqual({ $ref: '#/components/responses/Problem400' });
        }
      }
    });

    it('every schema in it compiles as JSON Schema and every $ref resolves', () => {
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      for (const ref of new Set(refs)) {
        const [, group, name] = /"\$ref":"#\/components\/(\w+)\/([^"]+)"/.exec(ref) ?? [];
        expect(doc.components[group!]?.[name!], ref).toBeDefined();
      }
      const ajv = new Ajv({ strict: false, validateFormats: false, discriminator: true });
      for (const [name, schema] of Object.entries(doc.components.schemas!)) {
        expect(() => ajv.compile(schema as object), name).not.toThrow();
      }
    });
  });

  describe('openapi.json documents every problem the API answers', () => {
    /** A body a route would take, or near enough to pass its first checks. */
    const BODIES: Record<string, object> = {
      createClaim: claimFields(),
      editClaim: { name: 'Contoso renewal' },
      actOnClaim: {},
      addComment: { text: 'Looks fine.' },
      evaluateClaim: { claim: claimFields(), asOf: '2026-03-02T17:00:00Z' },
      simulate: { name: 'x', claim: claimFields(), steps: [] },
      backtest: { policy: 'id: x' },
    };

    it('every problem status a route answers, to every caller and to malformed requests, is documented for that operation', async () => {
      const doc = (await h.api().get('/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      const { id, etag } = await h.createClaim();
      const upload = await h.uploadPoe(id);
      expect(upload.status).toBe(201);
      const poeId = upload.body.id as string;
      const submitted = await h.submittedClaim();

      const seen = new Map<string, Set<number>>();
      const undocumented = new Set<string>();
      const record = (method: string, path: string, status: number, contentType: string | undefined) => {
        const operation = doc.paths[path.replace(/:(\w+)/g, '{$1}')]![method]!;
        (seen.get(`${method} ${path}`) ?? seen.set(`${method} ${path}`, new Set()).get(`${method} ${path}`)!).add(status);
        if (status >= 400) expect(contentType, `${method} ${path} ${status}`).toMatch(/^application\/problem\+json/);
        const documented = operation.responses[String(status)] as { $ref?: string; content?: Record<string, unknown> } | undefined;
        if (!documented) undocumented.add(`${method} ${path} ${status}`);
        const type = contentType?.split(';')[0]!.trim();
        if (documented?.content && type && !(type in documented.content)) undocumented.add(`${method} ${path} ${status} ${type}`);
      };

      const callers = [undefined, 'Bearer not-a-token', ...(await Promise.all(Object.values(CALLERS).map((caller) => t.bearer(caller))))];
      // GET /v1/events answers a stream that stays open; its refusals are in http-events.test.ts.
      for (const route of registeredRoutes(t.app).filter((r) => r.path !== '/v1/events')) {
        const method = route.method as 'get' | 'post' | 'patch';
        const operationId = Object.values(doc.paths[route.path.replace(/:(\w+)/g, '{$1}')]!).length > 0
          ? ((doc.paths[route.path.replace(/:(\w+)/g, '{$1}')]![method] as unknown as { operationId: string }).operationId)
          : '';
        const paths = [
          concretePath(route.path, { id, poeId, event: 'submit' }),
          concretePath(route.path, { id: submitted, poeId: 'nope', event: 'withdraw' }),
          concretePath(route.path, { id: 'no-such-claim', poeId: 'nope', event: 'approveEverything' }),
        ];
        for (const path of paths) {
          for (const authorization of callers) {
            let req = h.api()[method](path);
            if (authorization) req = req.set('Authorization', authorization);
            if (method !== 'get') req = req.set('If-Match', etag);
            const res = method === 'get' ? await req : await req.send(BODIES[operationId] ?? {});
            record(route.method, route.path, res.status, res.headers['content-type']);
          }
        }
        // Malformed requests, from a caller who may do most things.
        const reviewer = await h.auth('reviewer');
        const partner = await h.auth('partner');
        const malformed = [
          h.api()[method](route.path.includes(':') ? concretePath(route.path, { id: '%ZZ', poeId: '%E0%A4%A', event: '%' }) : `${route.path}?limit=abc&nonsense=1`).set('Authorization', reviewer),
          h.api()[method](`${paths[0]}?limit=-1&from=2026-02-30&since=yesterday&status=nothing&format=xml`).set('Authorization', reviewer),
          h.api()[method](`${paths[0]}?conflicted=true`).set('Authorization', partner),
          ...(method === 'get'
            ? []
            : [
                h.api()[method](paths[0]!).set('Authorization', partner).set('Content-Type', 'application/json').send('{"oops":'),
                h.api()[method](paths[0]!).set('Authorization', partner).set('Content-Type', 'text/plain').send('hello'),
                h.api()[method](paths[0]!).set('Authorization', partner).set('If-Match', '"999"').set('Idempotency-Key', ' ').send({}),
                h.api()[method](paths[0]!).set('Authorization', partner).send(['not', 'an', 'object']),
              ]),
        ];
        for (const req of malformed) {
          const res = await req;
          record(route.method, route.path, res.status, res.headers['content-type']);
        }
      }
      // A download answers 200 with the content type found at upload (checked against the document above).
      expect(seen.get('get /v1/claims/:id/poe/:poeId')).toContain(200);
      const download = await h.api().get(`/v1/claims/${id}/poe/${poeId}`).set('Authorization', await h.auth('reviewer'));
      expect(download.headers['content-type']).toBe('application/pdf');
      expect([...undocumented].sort()).toEqual([]);
    }, 120_000); // some 900 requests: on PostgreSQL several times as long as on SQLite
  });
});

// A service started from its configuration on its default SQLite file: about the HTTP edge, tokens and file modes, not storage.
describe('a real listening server', () => {
  const SECRET = 'edge-test-secret-of-at-least-32-bytes-long';
  const running: RunningService[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (env: Record<string, string> = {}, dataDir?: string) => {
    const dir = dataDir ?? join(mkdtempSync(join(tmpdir(), 'cpor-edge-')), 'data');
    dirs.push(dataDir ?? join(dir, '..'));
    const config = loadConfig(
      { DATA_DIR: dir, PORT: '0', JWT_SECRET: SECRET, LOG_LEVEL: 'silent', SHUTDOWN_TIMEOUT_MS: '1000', ...env },
      { policyPath: BUNDLED_POLICY_PATH },
    );
    const { logger, logs } = capturingLogger();
    const service = await startService(config, { logger, startScheduler: false });
    running.push(service);
    return { service, logs, dataDir: dir };
  };
  /** Sends raw bytes and returns everything the server answers before it closes the connection. */
  const raw = (url: string, bytes: string) =>
    new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname, () => socket.write(bytes));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    });
  const parseRaw = (answer: string) => {
    const [head, body] = answer.split('\r\n\r\n');
    return { statusLine: head!.split('\r\n')[0], head: head!.toLowerCase(), body: JSON.parse(body!) as Record<string, unknown> };
  };

  it('answers an Authorization header over 16 KiB with a 431 problem+json, not a bare status line', async () => {
    const { service } = await serve();
    const answer = parseRaw(await raw(service.url, `GET /v1/claims HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(17 * 1024)}\r\n\r\n`));
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.head).toContain(`content-type: ${PROBLEM_CONTENT_TYPE}`);
    expect(answer.head).toContain('connection: close');
    expect(answer.body).toMatchObject({ status: 431, code: 'headersTooLarge', type: 'urn:problem-type:cpor:headersTooLarge' });
    // The server keeps serving.
    expect((await request(service.url).get('/healthz')).status).toBe(200);
  });

  it('answers a request that is not HTTP with a 400 problem+json', async () => {
    const { service } = await serve();
    const answer = parseRaw(await raw(service.url, 'HELLO\r\n\r\n'));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.body).toMatchObject({ status: 400, code: 'malformedRequest' });
  });

  it('accepts a token `cpor token` mints under the default configuration; refuses one valid for centuries or issued in the future', async () => {
    const { service } = await serve();
    const secret = new TextEncoder().encode(SECRET);
    const minted = await mintToken({ secret, role: 'reviewer' });
    expect((await request(service.url).get('/v1/claims').set('Authorization', `Bearer ${minted}`)).status).toBe(200);

    const epoch = Math.floor(Date.now() / 1000);
    const forever = await new SignJWT({ role: 'reviewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('rev-1').setIssuedAt(epoch).setExpirationTime(1e300).sign(secret);
    const future = await new SignJWT({ role: 'reviewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('rev-1').setIssuedAt(epoch + 3600).setExpirationTime(epoch + 7200).sign(secret);
    for (const token of [forever, future]) {
      const res = await request(service.url).get('/v1/claims').set('Authorization', `Bearer ${token}`);
      expectProblem(res, 401, 'invalidToken');
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    }
  });

  it('honours JWT_MAX_LIFETIME_SECONDS and JWT_CLOCK_TOLERANCE_SECONDS', async () => {
    const { service } = await serve({ JWT_MAX_LIFETIME_SECONDS: '604800', JWT_CLOCK_TOLERANCE_SECONDS: '0' });
    const secret = new TextEncoder().encode(SECRET);
    const week = await mintToken({ secret, role: 'reviewer', expiresIn: '7d', maxLifetimeSeconds: 604_800 });
    expect((await request(service.url).get('/v1/claims').set('Authorization', `Bearer ${week}`)).status).toBe(200);
    const epoch = Math.floor(Date.now() / 1000);
    const skewed = await new SignJWT({ role: 'reviewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('rev-1').setIssuedAt(epoch + 30).setExpirationTime(epoch + 600).sign(secret);
    expectProblem(await request(service.url).get('/v1/claims').set('Authorization', `Bearer ${skewed}`), 401, 'invalidToken');
  });

  it('refuses to start with a token lifetime or clock tolerance out of range', () => {
    const load = (env: Record<string, string>) => () => loadConfig({ DATA_DIR: tmpdir(), ...env }, { policyPath: BUNDLED_POLICY_PATH });
    expect(load({ JWT_MAX_LIFETIME_SECONDS: '10' })).toThrow(/JWT_MAX_LIFETIME_SECONDS/);
    expect(load({ JWT_MAX_LIFETIME_SECONDS: '1e300' })).toThrow(/JWT_MAX_LIFETIME_SECONDS/);
    expect(load({ JWT_CLOCK_TOLERANCE_SECONDS: '-1' })).toThrow(/JWT_CLOCK_TOLERANCE_SECONDS/);
    expect(load({})()).toMatchObject({ jwtMaxLifetimeSeconds: 86_400, jwtClockToleranceSeconds: 60 });
  });

  it('answers 503 authUnavailable with Retry-After when the JWKS cannot be reached', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { service, logs } = await serve({ JWKS_URL: `http://127.0.0.1:${port}/jwks.json` });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ role: 'reviewer' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('anyone').setIssuedAt().setExpirationTime('10m').sign(privateKey);
    const res = await request(service.url).get('/v1/claims').set('Authorization', `Bearer ${token}`);
    expectProblem(res, 503, 'authUnavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(logs.some((line) => line.msg === 'request failed' && line.level === 50)).toBe(true);
  });

  it('creates a new data directory 0700 and its SQLite file 0600', async () => {
    const { dataDir } = await serve();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, SQLITE_FILE_NAME)).mode & 0o777).toBe(0o600);
    // SQLite gives its write-ahead log the database file's mode.
    expect(statSync(join(dataDir, `${SQLITE_FILE_NAME}-wal`)).mode & 0o777).toBe(0o600);
  });

  it('leaves the mode of an existing data directory as the operator set it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cpor-edge-existing-'));
    chmodSync(dataDir, 0o750);
    await serve({}, dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o750);
  });
});
