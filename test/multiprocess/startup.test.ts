/** Many `cpor serve` processes started at once on an empty PostgreSQL database. */
import { afterEach, describe, expect, it } from 'vitest';
import { documentedRequest } from '../support/documented-requests';
import { ACTORS, claimFields } from '../support/factories';
import { startServiceProcesses, type ServiceProcesses } from '../support/service-processes';

describe('starting instances together', () => {
  let services: ServiceProcesses | undefined;
  afterEach(() => services?.stop());

  it('20 simultaneous starts on an empty database all come up and share one schema', async () => {
    services = await startServiceProcesses({ count: 20, wait: false, readyTimeoutMs: 170_000 });
    const ready = await Promise.allSettled(services.urls.map((_, i) => services!.waitReady(i)));
    const failures = ready.flatMap((r, i) => (r.status === 'rejected' ? [`instance ${i}: ${String(r.reason).slice(0, 2_000)}`] : []));
    expect(failures).toEqual([]);
    const partner = await services.bearer(ACTORS.partner);
    const created = await documentedRequest(services.urls[0]!).post('/v1/claims').set('Authorization', partner).send(claimFields());
    expect(created.status).toBe(201);
    const read = await documentedRequest(services.urls[19]!).get(`/v1/claims/${created.body.id as string}`).set('Authorization', partner);
    expect(read.status).toBe(200);
  }, 240_000);
});
