import express from 'express';
import { describe, expect, it } from 'vitest';
import { documentedRequest } from '../support/documented-requests';

/** An app that publishes a document for GET /things/{id} and answers as told. */
function appAnswering(answer: { status: number; body: unknown; type?: string }) {
  const app = express();
  app.get('/openapi.json', (_req, res) => {
    res.json({
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: {
        '/things/{id}': {
          get: {
            operationId: 'getThing',
            responses: {
              200: {
                description: 'A thing',
                content: {
                  'application/json': {
                    schema: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } }, additionalProperties: false },
                  },
                },
              },
            },
          },
        },
      },
    });
  });
  app.get('/things/:id', (_req, res) => void res.status(answer.status).type(answer.type ?? 'application/json').send(JSON.stringify(answer.body)));
  app.get('/elsewhere', (_req, res) => void res.status(418).send('teapot'));
  return app;
}

describe('documentedRequest (every answer checked against /openapi.json)', () => {
  it('an answer that matches its documented schema passes through', async () => {
    const res = await documentedRequest(appAnswering({ status: 200, body: { n: 1 } })).get('/things/7');
    expect(res.body).toEqual({ n: 1 });
  });

  it('a body that drifts from the documented schema fails the request, naming the operation and the path in the body', async () => {
    await expect(documentedRequest(appAnswering({ status: 200, body: { n: 'one' } })).get('/things/7')).rejects.toThrow(
      /getThing: the body does not match the documented schema: \/n must be integer/,
    );
  });

  it('a property the schema does not allow fails the request', async () => {
    await expect(documentedRequest(appAnswering({ status: 200, body: { n: 1, extra: true } })).get('/things/7')).rejects.toThrow(
      /must NOT have additional properties/,
    );
  });

  it('a status the operation does not document fails the request', async () => {
    await expect(
      documentedRequest(appAnswering({ status: 404, body: { title: 'x' }, type: 'application/problem+json' })).get('/things/7'),
    ).rejects.toThrow(/status 404 is not documented for getThing/);
  });

  it('a path the document does not describe is not checked', async () => {
    expect((await documentedRequest(appAnswering({ status: 200, body: { n: 1 } })).get('/elsewhere')).status).toBe(418);
  });
});
