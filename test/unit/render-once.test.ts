import { describe, expect, it } from 'vitest';
import type { ActResult } from '../../src/claims/claim-service';
import { renderOnce } from '../../src/http/idempotency';

describe('renderOnce', () => {
  it('renders the answer of one change once, however often it is asked for, and each other change afresh', async () => {
    let renders = 0;
    const answer = renderOnce(async (result: ActResult) => ({ status: 200, body: { id: result.claim.id, n: ++renders } }));
    const one = { claim: { id: 'a' }, entries: [] } as unknown as ActResult;
    const other = { claim: { id: 'b' }, entries: [] } as unknown as ActResult;
    expect(await answer(one)).toEqual({ status: 200, body: { id: 'a', n: 1 } });
    expect(await answer(one)).toEqual({ status: 200, body: { id: 'a', n: 1 } });
    expect(await answer(other)).toEqual({ status: 200, body: { id: 'b', n: 2 } });
    expect(renders).toBe(2);
  });
});
