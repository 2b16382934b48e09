/**
 * Demo mode's claims: realistic claims of two partners on three customers, one or more in
 * every status, made through the claim service on the demo clock as if their steps had
 * happened over the last weeks (so their deadlines run, are at risk, paused, overdue or past).
 */
import type { ClaimService } from '../claims/claim-service';
import type { Actor, ClaimFields, Product } from '../domain/claim-types';
import type { PoeFileStore } from '../poe/poe-file-store';
import type { SettableClock } from '../system-clock';

/** Who signs in to the demo, by what they are: the ids the demo's claims carry. */
const DEMO_PARTNERS = { fabrikam: '4512345', northwind: '4599999' } as const;
const DEMO_TENANTS = {
  contoso: '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01',
  tailspin: '0b7e9c2a-3d4f-4e5a-8b6c-7d8e9f0a1b2c',
  woodgrove: '9d2f6a4b-8c1e-4f3a-b5d7-2e6c8a0f1b3d',
} as const;

const CUSTOMERS = {
  contoso: { tenantId: DEMO_TENANTS.contoso, domain: 'contoso.com', name: 'Contoso Ltd.' },
  tailspin: { tenantId: DEMO_TENANTS.tailspin, domain: 'tailspintoys.com', name: 'Tailspin Toys' },
  woodgrove: { tenantId: DEMO_TENANTS.woodgrove, domain: 'woodgrovebank.com', name: 'Woodgrove Bank' },
};
const CONTACTS = {
  contoso: { name: 'Ana Ruiz', email: 'ana.ruiz@contoso.com', title: 'IT Director' },
  tailspin: { name: 'Sam Patel', email: 'sam.patel@tailspintoys.com', title: 'CIO' },
  woodgrove: { name: 'Jo Berg', email: 'jo.berg@woodgrovebank.com', title: 'Head of Operations' },
};
const PARTNERS = {
  fabrikam: { id: DEMO_PARTNERS.fabrikam, contact: { name: 'Li Wei', email: 'li.wei@fabrikam.com' } },
  northwind: { id: DEMO_PARTNERS.northwind, contact: { name: 'Maria Garcia', email: 'maria.garcia@northwindtraders.com' } },
};

const fabrikam: Actor = { role: 'incentivesAdmin', partnerId: DEMO_PARTNERS.fabrikam, id: 'li.wei@fabrikam.com' };
const northwind: Actor = { role: 'globalAdmin', partnerId: DEMO_PARTNERS.northwind, id: 'maria.garcia@northwindtraders.com' };
const reviewer: Actor = { role: 'reviewer', id: 'alex.kim@reviewers.example' };

const teams: Product = { line: 'microsoft365', workload: 'teams' };
const exchange: Product = { line: 'microsoft365', workload: 'exchange' };
const sharePoint: Product = { line: 'microsoft365', workload: 'sharePoint' };
const intune: Product = { line: 'microsoft365', workload: 'intune' };
const sales: Product = { line: 'businessApplications', product: 'dynamics365Sales', subscriptionId: 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b' };
const powerBI: Product = { line: 'businessApplications', product: 'powerBI', subscriptionId: 'b4e2d3c5-6a7f-4081-9bac-1d2e3f4a5b6c' };

/** When a step happened: business days (or calendar days) before today, at a local hour. */
type When = { businessDaysAgo: number; hour: number } | { daysAgo: number; hour: number };

interface Step {
  when: When;
  by: Actor;
  event: string;
  payload?: Record<string, unknown>;
}

interface DemoClaim {
  name: string;
  partner: keyof typeof PARTNERS;
  customer: keyof typeof CUSTOMERS;
  activity: ClaimFields['activity'];
  products: Product[];
  steps: Step[];
}

const bd = (businessDaysAgo: number, hour = 10): When => ({ businessDaysAgo, hour });
const d = (daysAgo: number, hour = 10): When => ({ daysAgo, hour });
const signedSow = (products: string[], signedOn: string) => ({ fileName: 'statement-of-work-signed.pdf', customerSigned: true, signedOn, products, describesWork: true });

/** The demo's claims. `signedOn` dates are filled in relative to today. */
function demoClaims(dateAgo: (days: number) => string): DemoClaim[] {
  const sow = (products: string[], daysAgo = 40) => signedSow(products, dateAgo(daysAgo));
  const upload = (when: When, by: Actor, products: string[], extra: Record<string, unknown> = {}): Step => ({ when, by, event: 'uploadPoe', payload: { ...sow(products), ...extra } });
  return [
    {
      name: 'Teams rollout, Contoso (draft)',
      partner: 'fabrikam', customer: 'contoso', activity: 'deployment', products: [teams, exchange],
      steps: [],
    },
    {
      name: 'Power BI advisory, Woodgrove (unsigned PoE)',
      partner: 'fabrikam', customer: 'woodgrove', activity: 'preSales', products: [powerBI],
      steps: [upload(bd(1, 11), fabrikam, ['powerBI'], { fileName: 'proposal-draft.pdf', customerSigned: false })],
    },
    {
      name: 'SharePoint migration, Woodgrove',
      partner: 'fabrikam', customer: 'woodgrove', activity: 'deployment', products: [sharePoint],
      steps: [upload(bd(4, 9), fabrikam, ['sharePoint']), { when: bd(4, 10), by: fabrikam, event: 'submit' }],
    },
    {
      name: 'Intune deployment, Tailspin (review not started in time)',
      partner: 'northwind', customer: 'tailspin', activity: 'deployment', products: [intune],
      steps: [upload(bd(7, 9), northwind, ['intune']), { when: bd(7, 10), by: northwind, event: 'submit' }],
    },
    {
      name: 'Dynamics 365 Sales, Contoso',
      partner: 'fabrikam', customer: 'contoso', activity: 'preSales', products: [sales],
      steps: [
        upload(bd(5, 9), fabrikam, ['dynamics365Sales']),
        { when: bd(5, 10), by: fabrikam, event: 'submit' },
        { when: bd(2, 14), by: reviewer, event: 'startReview' },
      ],
    },
    {
      name: 'Exchange Online usage, Tailspin',
      partner: 'northwind', customer: 'tailspin', activity: 'usage', products: [exchange],
      steps: [
        upload(bd(9, 9), northwind, ['exchange'], { describesWork: false }),
        { when: bd(9, 10), by: northwind, event: 'submit' },
        { when: bd(7, 9), by: reviewer, event: 'startReview' },
        {
          when: bd(3, 15),
          by: reviewer,
          event: 'requestInfo',
          payload: { deficiencies: ['missingPartnerSolution'], comment: 'The document does not describe the work you did for Tailspin. Please add the statement of work or a project summary.' },
        },
        { when: bd(2, 9), by: northwind, event: 'comment', payload: { text: 'We are getting the signed project summary from the customer.' } },
      ],
    },
    {
      name: 'Teams Phone, Contoso (Northwind, overlaps Fabrikam)',
      partner: 'northwind', customer: 'contoso', activity: 'deployment', products: [teams],
      steps: [upload(bd(3, 9), northwind, ['teams']), { when: bd(3, 10), by: northwind, event: 'submit' }],
    },
    {
      name: 'Microsoft 365 adoption, Contoso',
      partner: 'fabrikam', customer: 'contoso', activity: 'usage', products: [teams, sharePoint],
      steps: [
        upload(d(12, 9), fabrikam, ['teams', 'sharePoint']),
        { when: d(12, 10), by: fabrikam, event: 'submit' },
        { when: d(9, 9), by: reviewer, event: 'startReview' },
        { when: d(5, 16), by: reviewer, event: 'approve' },
      ],
    },
    {
      name: 'Power BI rollout, Tailspin',
      partner: 'northwind', customer: 'tailspin', activity: 'deployment', products: [powerBI],
      steps: [
        upload(d(20, 9), northwind, ['powerBI']),
        { when: d(20, 10), by: northwind, event: 'submit' },
        { when: d(17, 9), by: reviewer, event: 'startReview' },
        { when: d(14, 11), by: reviewer, event: 'approve' },
      ],
    },
    {
      name: 'Exchange migration, Woodgrove',
      partner: 'fabrikam', customer: 'woodgrove', activity: 'deployment', products: [exchange],
      steps: [
        upload(d(15, 9), fabrikam, ['exchange'], { customerSigned: false }),
        { when: d(15, 10), by: fabrikam, event: 'submit' },
        { when: d(13, 9), by: reviewer, event: 'startReview' },
        { when: d(6, 15), by: reviewer, event: 'reject', payload: { reason: 'missingCustomerConsent', comment: 'The PoE carries no customer signature.' } },
      ],
    },
    {
      name: 'Dynamics 365 Sales, Tailspin (disputed)',
      partner: 'northwind', customer: 'tailspin', activity: 'preSales', products: [sales],
      steps: [
        upload(d(18, 9), northwind, ['dynamics365Sales']),
        { when: d(18, 10), by: northwind, event: 'submit' },
        { when: d(16, 9), by: reviewer, event: 'startReview' },
        { when: d(11, 15), by: reviewer, event: 'reject', payload: { reason: 'insufficientPoe', comment: 'The SOW does not show pre-sales work on Dynamics 365 Sales.' } },
        { when: bd(3, 11), by: northwind, event: 'dispute', payload: { program: 'OSA', details: 'The SOW lists the pre-sales workshops in section 3; the customer signed it on the last page.' } },
      ],
    },
    {
      name: 'Teams, Woodgrove (created by mistake)',
      partner: 'northwind', customer: 'woodgrove', activity: 'revenueAssociation', products: [teams],
      steps: [{ when: d(4, 10), by: northwind, event: 'withdraw', payload: { comment: 'Wrong activity: this was pre-sales work.' } }],
    },
  ];
}

/** A one-page PDF saying what it stands for (a real file, so downloads and previews work). */
function demoPdf(title: string): Buffer {
  const text = title.replace(/[()\\]/g, ' ');
  const stream = `BT /F1 14 Tf 72 720 Td (${text}) Tj 0 -24 Td (Demo document: not a real proof of execution.) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

/**
 * Creates the demo's claims, each step at its instant on `clock`, then sets the clock back to
 * `now` and fires what fell due meanwhile. Returns how many claims it made.
 */
export async function seedDemoClaims(deps: { service: ClaimService; files: PoeFileStore; clock: SettableClock }, now: Date = deps.clock.now()): Promise<number> {
  const { service, files, clock } = deps;
  const { calendar } = service.policyFor(null, now);
  const today = calendar.localDate(now);
  const instantOf = (when: When): Date => {
    const date = 'businessDaysAgo' in when ? calendar.addBusinessDays(today, -when.businessDaysAgo) : calendar.addDays(today, -when.daysAgo);
    const at = new Date(calendar.startOfLocalDay(date).getTime() + when.hour * 3_600_000);
    // A step "today" later than now happens a little before now.
    return at.getTime() < now.getTime() ? at : new Date(now.getTime() - 60_000);
  };
  const claims = demoClaims((days) => calendar.addDays(today, -days));
  for (const [index, spec] of claims.entries()) {
    const partner = PARTNERS[spec.partner];
    const actor = spec.partner === 'fabrikam' ? fabrikam : northwind;
    const first = spec.steps[0] ? instantOf(spec.steps[0].when) : instantOf(d(0, 9));
    // Created a little before its first step, never two claims at one instant.
    clock.set(new Date(first.getTime() - 3_600_000 + index * 1000));
    const { claim } = await service.create(actor, {
      name: spec.name,
      partnerId: partner.id,
      mpnId: partner.id,
      customer: CUSTOMERS[spec.customer],
      activity: spec.activity,
      products: spec.products,
      customerContact: CONTACTS[spec.customer],
      partnerContact: partner.contact,
    });
    for (const step of spec.steps) {
      clock.set(instantOf(step.when));
      const payload = step.payload ?? {};
      if (step.event === 'uploadPoe') {
        const stored = await files.put(demoPdf(`${spec.name}: ${String(payload.fileName)}`));
        await service.act(claim.id, 'uploadPoe', step.by, payload, { file: { ...stored, contentType: 'application/pdf' } });
      } else {
        await service.act(claim.id, step.event, step.by, payload);
      }
    }
  }
  clock.set(now);
  await service.fireDue(now);
  return claims.length;
}
