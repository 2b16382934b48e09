/** The refusals a claim's lifecycle answers, and whether a scenario can meet each under a policy. */
import type { ErrorCode } from '../domain/error-codes';
import type { Policy } from '../rules/policy-types';

interface RefusalKind {
  code: ErrorCode;
  /** Why no scenario can produce it under the policy; undefined when one can. */
  unreachable?: string;
}

const always = (): undefined => undefined;

/** The lifecycle's refusal codes (README "Refusal codes"), in the order the README lists them. */
const KINDS: ReadonlyArray<{ code: ErrorCode; unreachable: (policy: Policy) => string | undefined }> = [
  { code: 'invalidPayload', unreachable: always },
  { code: 'invalidState', unreachable: always },
  { code: 'forbiddenRole', unreachable: always },
  { code: 'notYourClaim', unreachable: always },
  { code: 'fieldNotEditable', unreachable: always },
  { code: 'unknownDeficiencyCode', unreachable: always },
  { code: 'unknownReason', unreachable: always },
  { code: 'reasonNotAllowed', unreachable: always },
  {
    code: 'requirementsNotMet',
    unreachable: (p) => (p.submissionRequirements.length === 0 ? 'the policy has no submission requirements' : undefined),
  },
  {
    code: 'windowClosed',
    unreachable: (p) =>
      Object.values(p.deadlines).some((d) => 'closes' in d.onDue) ? undefined : 'no deadline of the policy closes events',
  },
  { code: 'unknownEvent', unreachable: () => "a scenario's `do` must name a lifecycle event when the file is read" },
  { code: 'disputeLimitReached', unreachable: always },
  {
    code: 'poeLimitReached',
    unreachable: (p) => (p.limits?.poeDocumentsPerClaim === undefined ? 'the policy sets no limits.poeDocumentsPerClaim' : undefined),
  },
  { code: 'poeBytesLimitReached', unreachable: () => 'scenario uploads carry no file, so no bytes are counted' },
  { code: 'poeSignedInFuture', unreachable: always },
  {
    code: 'unknownPoe',
    unreachable: (p) => (p.events.removePoe?.roles.length ? undefined : 'no role may send removePoe under the policy'),
  },
];

/** Every refusal kind with, under this policy, why a scenario cannot produce it (if it cannot). */
export function refusalKinds(policy: Policy): RefusalKind[] {
  return KINDS.map(({ code, unreachable }) => {
    const why = unreachable(policy);
    return why === undefined ? { code } : { code, unreachable: why };
  });
}
