#!/usr/bin/env node
// The README's HTTP walk-through, run end to end: every role, every action, through consent and
// dispute. Each request is printed as the curl command that does the same.
//
//   node examples/walkthrough.mjs              starts a fresh service (free port, temporary DATA_DIR), stops it at the end
//   node examples/walkthrough.mjs --url URL    runs against a service already running (tokens are
//                                              minted with `cpor token`, so DATA_DIR or JWT_SECRET must be the service's)
//   --quiet                                    print only the steps, not the curl commands
//
// Exit status: 0 when every answer is the expected one; 1 on the first unexpected answer.
// Needs only node (no curl or jq). Tokens come from `cpor token` (run in this process).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { register } from 'tsx/esm/api';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({ options: { url: { type: 'string' }, quiet: { type: 'boolean' } } });
const log = (text) => process.stdout.write(`${text}\n`);
const show = (text) => args.quiet || log(`  ${text}`);

class Unexpected extends Error {}

// ── the service ──────────────────────────────────────────────────────────────
let child;
let dataDir;
async function startService() {
  dataDir = mkdtempSync(join(tmpdir(), 'cpor-walkthrough-'));
  process.env.DATA_DIR = dataDir;
  delete process.env.JWT_SECRET;
  delete process.env.DATABASE_URL;
  delete process.env.CPOR_POLICY;
  child = spawn(process.execPath, [join(ROOT, 'bin', 'cpor.mjs'), 'serve'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolveUrl, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /"url":"(http:\/\/[^"]+)"/.exec(output);
      if (match) resolveUrl(match[1]);
    });
    child.once('exit', (code) => reject(new Unexpected(`the service exited with ${code} before listening:\n${output}`)));
  });
}

async function stopService() {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
}

// ── tokens: `cpor token`, in this process (one tsx start-up instead of one per token) ──
let cpor;
async function token(...argv) {
  if (!cpor) {
    register();
    cpor = (await import('../src/cli.ts')).main;
  }
  let stdout = '';
  let stderr = '';
  const code = await cpor(['token', ...argv], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  if (code !== 0) throw new Unexpected(`cpor token ${argv.join(' ')}: exit ${code}: ${stderr}`);
  return stdout.trim();
}

// ── requests ─────────────────────────────────────────────────────────────────
let URL_BASE;
const tokenNames = new Map(); // token → shell variable name, for the printed curl commands
const claimNames = new Map(); // claim id → shell variable name

/** Remembers a new claim's id under a shell variable name (printed as NAME=<id>). */
function named(name, response) {
  const id = response.body.id;
  claimNames.set(id, name);
  show(`${name}=${id}   # from the Location header`);
  return id;
}
const quote = (text) => `'${text.replaceAll("'", "'\\''")}'`;

/**
 * One request; `expect` is the status it must answer. Returns { status, headers, body }.
 * The printed curl command does the same request (tokens as shell variables).
 */
async function call(title, { method = 'GET', path, as, json, form, ifMatch, expect, accept }) {
  log(`• ${title}`);
  const headers = {};
  let shownPath = path;
  for (const [id, name] of claimNames) shownPath = shownPath.replaceAll(id, `$${name}`);
  const curl = [`curl -s${method === 'GET' ? '' : ` -X ${method}`} "$URL${shownPath}"`];
  if (as) {
    headers.authorization = `Bearer ${as}`;
    curl.push(`-H "authorization: Bearer $${tokenNames.get(as)}"`);
  }
  if (ifMatch !== undefined) {
    headers['if-match'] = `"${ifMatch}"`;
    curl.push(`-H 'if-match: "${ifMatch}"'`);
  }
  if (accept) {
    headers.accept = accept;
    curl.push(`-H 'accept: ${accept}'`);
  }
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
    curl.push(`-H 'content-type: application/json' -d ${quote(body)}`);
  } else if (form) {
    body = new FormData();
    for (const [name, value] of Object.entries(form)) {
      if (value instanceof Blob) {
        body.append(name, value, value.name);
        curl.push(`-F ${name}=@${value.name}`);
      } else {
        body.append(name, value);
        curl.push(`-F ${name}=${value}`);
      }
    }
  }
  show(curl.join(' '));
  const response = await fetch(`${URL_BASE}${path}`, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const parsed = type.includes('json') && text ? JSON.parse(text) : text;
  if (response.status !== expect) {
    throw new Unexpected(`${title}: expected ${expect}, got ${response.status}\n${typeof parsed === 'string' ? parsed : JSON.stringify(parsed, null, 2)}`);
  }
  show(`→ ${response.status}${response.headers.get('etag') ? ` ETag: ${response.headers.get('etag')}` : ''}`);
  return { status: response.status, headers: response.headers, body: parsed };
}

function check(condition, message) {
  if (!condition) throw new Unexpected(message);
}

// A write's ETag is "<version>", a read's "<version>-<digest of the body>": If-Match takes either, and compares the version.
const versionOf = (response) => Number(response.headers.get('etag').replaceAll('"', '').split('-')[0]);

// ── the walk-through ─────────────────────────────────────────────────────────
const PARTNER_ID = '4512345';
const TENANT = '6f1c0d4e-1f1a-4a53-9b7e-3c1d2b9e8a01';
const OTHER_TENANT = '0b6a4f8e-2c3d-4e5f-8a9b-1c2d3e4f5a6b';

function claimBody(name) {
  return {
    name,
    mpnId: PARTNER_ID,
    activity: 'preSales',
    customer: { tenantId: TENANT, domain: 'contoso.com', name: 'Contoso' },
    products: [{ line: 'microsoft365', workload: 'teams' }],
    customerContact: { name: 'Ana Ruiz', email: 'ana@contoso.com' },
    partnerContact: { name: 'Li Wei', email: 'li@fabrikam.com' },
  };
}

// A one-page PDF: uploads are recognised by their bytes, not by their name.
const PDF = new TextEncoder().encode('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');

async function uploadPoe(title, id, as) {
  const file = new File([PDF], 'sow.pdf', { type: 'application/pdf' });
  return call(title, {
    method: 'POST',
    path: `/v1/claims/${id}/poe`,
    as,
    form: { file, customerSigned: 'true', signedOn: '2026-11-01', products: 'teams', describesWork: 'true' },
    expect: 201,
  });
}

async function act(title, id, event, as, version, payload = {}, expect = 200) {
  return call(title, { method: 'POST', path: `/v1/claims/${id}/actions/${event}`, as, ifMatch: version, json: payload, expect });
}

async function walkthrough() {
  log('tokens (cpor token):');
  const P = await token('--role', 'incentivesAdmin', '--partner', PARTNER_ID);
  const G = await token('--role', 'globalAdmin', '--partner', PARTNER_ID);
  const B = await token('--role', 'billingAdmin', '--partner', PARTNER_ID);
  const R = await token('--role', 'reviewer');
  const C = await token('--role', 'customer', '--tenant', TENANT);
  const X = await token('--role', 'customer', '--tenant', OTHER_TENANT);
  const M = await token('--role', 'programManager');
  for (const [name, value, argv] of [
    ['P', P, `--role incentivesAdmin --partner ${PARTNER_ID}`],
    ['G', G, `--role globalAdmin --partner ${PARTNER_ID}`],
    ['B', B, `--role billingAdmin --partner ${PARTNER_ID}`],
    ['R', R, '--role reviewer'],
    ['C', C, `--role customer --tenant ${TENANT}`],
    ['X', X, `--role customer --tenant ${OTHER_TENANT}`],
    ['M', M, '--role programManager'],
  ]) {
    tokenNames.set(value, name);
    show(`${name}=$(npx cpor token ${argv})`);
  }

  await call('the service is up', { path: '/healthz', expect: 200 });

  // ── claim A: edit, PoE, comment, submit, review, request for information, resubmit, approve; the customer opts out
  log('\nclaim A: the whole review, then the customer denies consent');
  let r = await call('partner (incentivesAdmin) creates claim A', { method: 'POST', path: '/v1/claims', as: P, json: claimBody('Contoso Teams pre-sales'), expect: 201 });
  const A = named('ID_A', r);
  check(r.headers.get('location') === `/v1/claims/${A}`, `Location is ${r.headers.get('location')}`);
  check(r.body.status === 'editing', `a new claim is editing, not ${r.body.status}`);
  r = await call('partner edits claim A (If-Match: the version last seen)', { method: 'PATCH', path: `/v1/claims/${A}`, as: P, ifMatch: versionOf(r), json: { name: 'Contoso Teams pre-sales (phase 1)' }, expect: 200 });
  check(r.body.fields?.name === 'Contoso Teams pre-sales (phase 1)' || r.body.name === 'Contoso Teams pre-sales (phase 1)', 'the edit is not in the claim');
  await call('an edit with a stale If-Match is refused', { method: 'PATCH', path: `/v1/claims/${A}`, as: P, ifMatch: 1, json: { name: 'stale' }, expect: 412 });
  await uploadPoe('partner uploads a customer-signed PoE', A, P);
  await call('partner comments', { method: 'POST', path: `/v1/claims/${A}/comments`, as: P, json: { text: 'The signed statement of work is attached.' }, expect: 201 });
  let version = versionOf(await call('partner reads claim A', { path: `/v1/claims/${A}`, as: P, expect: 200 }));
  r = await act('partner submits', A, 'submit', P, version);
  check(r.body.status === 'submitted', `after submit: ${r.body.status}`);
  await act('the customer may not start a review', A, 'startReview', C, versionOf(r), {}, 403);
  r = await act('reviewer starts the review', A, 'startReview', R, versionOf(r));
  r = await act('reviewer requests information', A, 'requestInfo', R, versionOf(r), { deficiencies: ['missingCustomerAcknowledgment'], comment: 'Please add the signature page' });
  check(r.body.status === 'partnerActionRequired', `after requestInfo: ${r.body.status}`);
  r = await call('reviewer lists claims waiting for partners', { path: '/v1/claims?status=partnerActionRequired&limit=25', as: R, expect: 200 });
  check(r.body.items.some((c) => c.id === A), 'claim A is not listed as partnerActionRequired');
  await uploadPoe('partner adds the signature page', A, P);
  version = versionOf(await call('partner reads claim A', { path: `/v1/claims/${A}`, as: P, expect: 200 }));
  r = await act('partner resubmits', A, 'resubmit', P, version);
  check(r.body.status === 'underReview', `after resubmit: ${r.body.status}`);
  r = await act('reviewer approves', A, 'approve', R, versionOf(r));
  check(r.body.status === 'approved' && r.body.substatus === 'consentPending', `after approve: ${r.body.status}/${r.body.substatus}`);
  await call("another tenant's customer cannot see claim A", { path: `/v1/claims/${A}`, as: X, expect: 404 });
  version = versionOf(await call('the customer reads claim A', { path: `/v1/claims/${A}`, as: C, expect: 200 }));
  await act('a program manager changes no claim', A, 'withdraw', M, version, {}, 403);
  r = await act('the customer denies consent', A, 'denyConsent', C, version, { comment: 'We did not work with this partner.' });
  check(r.body.status === 'rejected' && r.body.reason === 'customerDecline', `after denyConsent: ${r.body.status}/${r.body.reason}`);
  r = await call('history of claim A', { path: `/v1/claims/${A}/history`, as: R, expect: 200 });
  const events = (r.body.items ?? r.body).map((e) => e.event);
  for (const e of ['create', 'edit', 'uploadPoe', 'comment', 'submit', 'startReview', 'requestInfo', 'resubmit', 'approve', 'denyConsent']) {
    check(events.includes(e), `history of claim A lacks ${e}: ${events.join(', ')}`);
  }
  await call('decision log of claim A', { path: `/v1/claims/${A}/decisions`, as: M, expect: 200 });
  await call('comments of claim A', { path: `/v1/claims/${A}/comments`, as: G, expect: 200 });

  // ── claim B: approved; the consent window passes
  log('\nclaim B: approved, then the consent window passes');
  r = await call('partner (globalAdmin) creates claim B', { method: 'POST', path: '/v1/claims', as: G, json: claimBody('Contoso Teams rollout'), expect: 201 });
  const Bid = named('ID_B', r);
  await uploadPoe('partner uploads a customer-signed PoE', Bid, G);
  version = versionOf(await call('partner reads claim B', { path: `/v1/claims/${Bid}`, as: G, expect: 200 }));
  r = await act('partner submits', Bid, 'submit', G, version);
  r = await act('reviewer starts the review', Bid, 'startReview', R, versionOf(r));
  await act('reviewer approves', Bid, 'approve', R, versionOf(r));
  r = await call('claim B waits for the customer (consentWindow: 7 days)', { path: `/v1/claims/${Bid}`, as: R, expect: 200 });
  check(r.body.substatus === 'consentPending', `claim B: ${r.body.substatus}`);
  // The service's scheduler works on real time: seven days are not waited for here. The same
  // steps run through POST /v1/simulate on a virtual clock, under the service's policy.
  const at = (day, hour) => `2026-07-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;
  r = await call('the consent window passes (POST /v1/simulate: the same steps on a virtual clock)', {
    method: 'POST',
    path: '/v1/simulate',
    as: R,
    json: {
      name: 'Claim B after its consent window',
      claim: { ...claimBody('Contoso Teams rollout'), partnerId: PARTNER_ID },
      steps: [
        { at: at(6, 16), by: 'globalAdmin', do: 'create' },
        { at: at(6, 17), by: 'globalAdmin', do: 'uploadPoe', with: { fileName: 'sow.pdf', customerSigned: true, signedOn: '2026-07-01', products: ['teams'], describesWork: true } },
        { at: at(6, 18), by: 'globalAdmin', do: 'submit' },
        { at: at(7, 17), by: 'reviewer', do: 'startReview' },
        { at: at(9, 20), by: 'reviewer', do: 'approve', expect: { status: 'approved', substatus: 'consentPending' } },
        { until: at(17, 7), expect: { status: 'approved', substatus: 'sentForAssessment', deadlines: { consentWindow: 'fired' } } },
      ],
      expect: { status: 'approved', substatus: 'sentForAssessment' },
    },
    expect: 200,
  });
  const [simulated] = Array.isArray(r.body) ? r.body : [r.body];
  check(simulated.passed === true, `the simulated consent window: ${JSON.stringify(simulated.failures)}`);
  check(simulated.timeline.some((e) => e.by === 'system' && e.event === 'consentWindowDue'), 'no consentWindowDue by system in the timeline');
  await call('program manager: the assessment report', { path: '/v1/reports/assessment', as: M, expect: 200 });
  await call('reviewer: outbound messages (approval notices)', { path: '/v1/outbox', as: R, expect: 200 });

  // ── claim C: rejected, disputed, dispute resolved
  log('\nclaim C: rejected, disputed, the dispute resolved');
  r = await call('partner (incentivesAdmin) creates claim C', { method: 'POST', path: '/v1/claims', as: P, json: claimBody('Contoso Teams deployment'), expect: 201 });
  const Cid = named('ID_C', r);
  await uploadPoe('partner uploads a customer-signed PoE', Cid, P);
  version = versionOf(await call('partner reads claim C', { path: `/v1/claims/${Cid}`, as: P, expect: 200 }));
  r = await act('partner submits', Cid, 'submit', P, version);
  r = await act('reviewer starts the review', Cid, 'startReview', R, versionOf(r));
  await act('a reviewer may not use a partner reason', Cid, 'reject', R, versionOf(r), { reason: 'partnerRequest' }, 403);
  r = await act('reviewer rejects', Cid, 'reject', R, versionOf(r), { reason: 'missingProducts', comment: 'Teams is not covered by the document.' });
  check(r.body.status === 'rejected' && r.body.reason === 'missingProducts', `after reject: ${r.body.status}/${r.body.reason}`);
  r = await act('partner disputes', Cid, 'dispute', P, versionOf(r), { program: 'OSU', details: 'Section 5 of the document covers Teams.' });
  check(r.body.status === 'disputed', `after dispute: ${r.body.status}`);
  r = await act('reviewer resolves the dispute: approved', Cid, 'resolveDispute', R, versionOf(r), { outcome: 'approved', comment: 'Section 5 does cover Teams.' });
  check(r.body.status === 'approved' && r.body.substatus === 'consentPending', `after resolveDispute: ${r.body.status}/${r.body.substatus}`);
  r = await call('disputes of claim C', { path: `/v1/claims/${Cid}/disputes`, as: R, expect: 200 });
  check(JSON.stringify(r.body).includes('OSU'), 'the dispute is not listed');

  // ── claim D: withdrawn
  log('\nclaim D: withdrawn by the partner');
  r = await call('partner (billingAdmin) creates claim D', { method: 'POST', path: '/v1/claims', as: B, json: claimBody('Contoso Teams - duplicate'), expect: 201 });
  const D = named('ID_D', r);
  r = await act('partner withdraws it', D, 'withdraw', B, versionOf(r), { comment: 'Entered twice.' });
  check(r.body.status === 'rejected' && r.body.reason === 'partnerRequest', `after withdraw: ${r.body.status}/${r.body.reason}`);
  r = await call('history of claim D', { path: `/v1/claims/${D}/history`, as: B, expect: 200 });
  check((r.body.items ?? r.body).map((e) => e.event).join(',') === 'create,withdraw', 'history of claim D');

  await call('program manager: the policy versions', { path: '/v1/policies', as: M, expect: 200 });
  await call('no token, no claims', { path: '/v1/claims', expect: 401 });
}

// ── run ──────────────────────────────────────────────────────────────────────
let status = 0;
try {
  // The service starts while this process loads the command line for the tokens.
  const started = args.url ? Promise.resolve(args.url) : startService();
  started.catch(() => undefined);
  await token('--role', 'reviewer');
  URL_BASE = await started;
  log(`service: ${URL_BASE}`);
  show(`URL=${URL_BASE}`);
  await walkthrough();
  log('\nwalk-through: every answer as expected');
} catch (error) {
  status = 1;
  process.stderr.write(`\nwalk-through FAILED: ${error instanceof Unexpected ? error.message : error.stack}\n`);
} finally {
  await stopService();
}
process.exit(status);
