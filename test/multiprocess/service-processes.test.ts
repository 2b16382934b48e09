/**
 * The multi-process harness itself: real `cpor serve` processes on one PostgreSQL cluster
 * share their data, and survive being killed and restarted one by one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentedRequest } from '../support/documented-requests';
import { ACTORS, claimFields } from '../support/factories';
import { startServiceProcesses, type ServiceProcesses } from '../support/service-processes';

describe('two cpor serve processes on one PostgreSQL', () => {
  let services: ServiceProcesses;
  beforeAll(async () => {
    services = await startServiceProcesses({ count: 2 });
  }, 180_000);
  afterAll(() => services?.stop());

  it('a claim created through one instance is read through the other; a killed instance restarts on its port', async () => {
    const partner = await services.bearer(ACTORS.partner);
    const reviewer = await services.bearer(ACTORS.reviewer);
    const created = await documentedRequest(services.urls[0]!).post('/v1/claims').set('Authorization', partner).send(claimFields());
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const read = await documentedRequest(services.urls[1]!).get(`/v1/claims/${id}`).set('Authorization', reviewer);
    expect(read.status).toBe(200);

    await services.kill(1);
    expect(services.alive(1)).toBe(false);
    await expect(fetch(`${services.urls[1]}/healthz`)).rejects.toThrow();
    await services.restart(1);
    expect(services.alive(1)).toBe(true);
    const again = await documentedRequest(services.urls[1]!).get(`/v1/claims/${id}`).set('Authorization', reviewer);
    expect(again.body.id).toBe(id);
  }, 120_000);

  it('after a PostgreSQL immediate restart both instances are ready again and serve the data', async () => {
    const partner = await services.bearer(ACTORS.partner);
    const created = await documentedRequest(services.urls[0]!).post('/v1/claims').set('Authorization', partner).send(claimFields());
    expect(created.status).toBe(201);
    await services.postgres.restartImmediate();
    await services.waitReady(undefined, 60_000);
    for (const url of services.urls) {
      const read = await documentedRequest(url).get(`/v1/claims/${created.body.id as string}`).set('Authorization', partner);
      expect(read.status).toBe(200);
    }
  }, 120_000);
});
