/**
 * A realistic mix of evaluation requests, as page views make them: generated claims (a
 * seeded generator, so every run sends the same mix) with varied activity, products,
 * PoE documents (count, signature, signing date, what they cover), status and history,
 * evaluated at varied instants. Requests repeat (a claim is viewed again and again), so
 * the rule cache sees some fact sets often and many only once or twice.
 */
import { ACTIVITIES, BUSINESS_APPLICATIONS, WORKLOADS } from '../src/domain/claim-types';
import type { EvaluationInput } from '../src/evaluation/evaluate-claim';

const DAY = 86_400_000;

/** Histories that end in each status, as offsets in days from the claim's creation. */
const PATHS: Array<{ status: EvaluationInput['claim']['status']; steps: Array<[number, EvaluationInput['claim']['status']]> }> = [
  { status: 'editing', steps: [[0, 'editing']] },
  { status: 'submitted', steps: [[0, 'editing'], [1, 'submitted']] },
  { status: 'underReview', steps: [[0, 'editing'], [1, 'submitted'], [3, 'underReview']] },
  { status: 'partnerActionRequired', steps: [[0, 'editing'], [1, 'submitted'], [3, 'underReview'], [4, 'partnerActionRequired']] },
  { status: 'approved', steps: [[0, 'editing'], [1, 'submitted'], [3, 'underReview'], [5, 'approved']] },
];

/** `count` requests over `claims` distinct generated claims (each request one of them, at its own instant). */
export function evaluationMix(count: number, claims = Math.max(1, Math.floor(count / 4)), seed = 17): EvaluationInput[] {
  let state = seed;
  const next = (n: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return Math.floor((state / 2 ** 31) * n);
  };
  const pick = <T>(items: readonly T[]): T => items[next(items.length)]!;
  const distinct: EvaluationInput[] = Array.from({ length: claims }, (_, i) => {
    const workloads = Array.from({ length: 1 + next(3) }, () => pick(WORKLOADS));
    const products = [
      ...[...new Set(workloads)].map((workload) => ({ line: 'microsoft365' as const, workload })),
      ...(next(3) === 0 ? [{ line: 'businessApplications' as const, product: pick(BUSINESS_APPLICATIONS), subscriptionId: `sub-${next(1000)}` }] : []),
    ];
    const covered = products.map((p) => ('workload' in p ? p.workload : p.product));
    const created = Date.parse('2026-02-01T09:00:00Z') + next(60) * DAY + next(8 * 3600) * 1000;
    const path = pick(PATHS);
    const history = path.steps.map(([days, to]) => ({ at: new Date(created + days * DAY + next(3600) * 1000).toISOString(), to }));
    const poe = Array.from({ length: next(4) }, (_, j) => {
      const signed = next(5) !== 0;
      return {
        fileName: `poe-${i}-${j}.pdf`,
        customerSigned: signed,
        ...(signed || next(2) === 0 ? { signedOn: new Date(created - next(200) * DAY).toISOString().slice(0, 10) } : {}),
        products: covered.filter(() => next(4) !== 0),
        describesWork: next(3) !== 0,
      };
    });
    const partnerId = String(4_500_000 + next(5000));
    return {
      claim: {
        id: `claim-${i}`,
        fields: {
          partnerId,
          mpnId: partnerId,
          customer: { tenantId: `6f1c0d4e-1f1a-4a53-9b7e-${String(100_000_000_000 + i).slice(-12)}`, domain: `customer${i}.com`, name: `Customer ${i}` },
          activity: pick(ACTIVITIES),
          products,
          customerContact: { name: 'Ana Ruiz', email: `ana@customer${i}.com` },
          partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
        },
        status: path.status,
        poe,
        history,
      },
      asOf: new Date(Date.parse(history.at(-1)!.at) + next(20) * DAY).toISOString(),
    };
  });
  // Page views: some claims much more often than others (the square favours low indexes).
  return Array.from({ length: count }, () => {
    const r = next(1_000_000) / 1_000_000;
    return distinct[Math.floor(r * r * claims)]!;
  });
}
