/** The `cpor` command: composition root of the command-line tools. */
import { createRequire } from 'node:module';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Output } from './cli/output';

interface Command {
  summary: string;
  usage: string;
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, unknown>, out: Output): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  'policy lint': {
    summary: 'Check policy files: YAML, schema and meaning; located errors',
    usage: 'cpor policy lint PATH… [--json]',
    help: `Validates each policy file (or every *.yaml in a directory) against the policy
schema and the checks a schema cannot express (unknown states, roles, facts or
operators, duplicate codes, deadlines that never start, events no role may send).
Prints one line per problem as FILE:LINE:COLUMN severity code $.json.path: message.
Exit status: 0 when every file is valid (warnings allowed), 1 otherwise.`,
    options: { json: { type: 'boolean' } },
    async run(paths, values, out) {
      if (paths.length === 0) return usageError(this, 'name at least one policy file', out);
      return (await import('./cli/policy-lint')).lintPolicies(paths, out, { json: values.json === true });
    },
  },
  'policy diff': {
    summary: 'Show what changed between two policy files: rules, deadlines, fields, roles, codes',
    usage: 'cpor policy diff A B [--json] [--exit-code]',
    help: `Loads policy files A and B and prints what changes from A to B, grouped by
section (meta, calendar, roles, events, editableFields, rejectionReasons,
submissionRequirements, deficiencies, deadlines, incentivePrograms), one line per
change marked + added, - removed, ~ changed. Code lists compare by code (their
order does not matter), role, field and state lists by member, rule conditions by
structure. --json prints { from, to, changes: [{ section, key, kind, before, after,
summary }] }.
Exit status: 0, also when the files differ; 1 when a file does not load (its
located errors on stderr). With --exit-code, like git diff --exit-code: 0 when
they are the same, 1 when they differ, 2 when a file does not load.`,
    options: { json: { type: 'boolean' }, 'exit-code': { type: 'boolean' } },
    async run(paths, values, out) {
      if (paths.length !== 2) return usageError(this, 'name two policy files, A and B', out);
      return (await import('./cli/policy-diff-command')).policyDiffCommand(
        paths[0]!,
        paths[1]!,
        { json: values.json === true, exitCode: values['exit-code'] === true },
        out,
      );
    },
  },
  simulate: {
    summary: 'Run scenario files on a virtual clock and show what happens',
    usage: 'cpor simulate FILE… [--json] [--policy FILE] [--svg OUT]',
    help: `Runs each scenario file through the claim service on a virtual clock: steps in
order, deadlines firing as the clock passes them. Prints a readable timeline, or
with --json an array with one object per file:
  { name, file, policy: {id, version}, passed, failures, final, timeline, deadlines }
--policy FILE runs every scenario under that policy instead of its own.
--svg OUT also draws the run of one scenario file as an SVG timeline in OUT:
states as bands over calendar time, weekends and holidays shaded, each deadline's
window with its due instant, pauses hatched, refused steps marked.
Exit status: 1 when a scenario with expectations fails, a file is broken, or the
picture cannot be written; 2 on bad arguments.`,
    options: { json: { type: 'boolean' }, policy: { type: 'string' }, svg: { type: 'string' } },
    async run(files, values, out) {
      if (files.length === 0) return usageError(this, 'name at least one scenario file', out);
      if (values.svg !== undefined && files.length !== 1) return usageError(this, '--svg draws one scenario: name one file', out);
      return (await import('./cli/scenario-commands')).simulateCommand(
        files,
        { json: values.json === true, policy: values.policy as string | undefined, svg: values.svg as string | undefined },
        out,
      );
    },
  },
  test: {
    summary: 'Run every scenario with an expect block; fail if one fails; rule coverage',
    usage: 'cpor test DIR… [--policy FILE] [--verbose] [--coverage] [--coverage-threshold PCT] [--format text|json]',
    help: `Runs every *.yaml scenario under the directories (or the files named) that has an
expect block, and prints the failures and a closing line "N passed, N failed".
--policy FILE runs them all under a candidate policy.
  --coverage                 also report, per policy version the scenarios ran under,
                             every rule and condition the scenarios made true and
                             false (as json-rules-engine evaluated them), every
                             deadline fired, met and paused, every refusal kind that
                             occurred, and a percentage of these outcomes
  --coverage-threshold PCT   implies --coverage; exit 1 when a version's coverage is
                             under PCT (0-100)
  --format text|json         json: { passed, failed, skipped, failures, coverage? }
Exit status: 1 when a scenario fails, nothing was found, or coverage is under the
threshold; 2 on bad arguments.`,
    options: {
      policy: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
      coverage: { type: 'boolean' },
      'coverage-threshold': { type: 'string' },
      format: { type: 'string' },
    },
    async run(paths, values, out) {
      if (paths.length === 0) return usageError(this, 'name at least one directory', out);
      const format = (values.format as string | undefined) ?? 'text';
      if (format !== 'text' && format !== 'json') return usageError(this, `--format must be text or json, not "${format}"`, out);
      const threshold = values['coverage-threshold'] as string | undefined;
      const percent = threshold === undefined ? undefined : Number(threshold.replace(/%$/, ''));
      if (percent !== undefined && (threshold!.trim() === '' || !Number.isFinite(percent) || percent < 0 || percent > 100)) {
        return usageError(this, `--coverage-threshold must be a percentage from 0 to 100, not "${threshold}"`, out);
      }
      return (await import('./cli/scenario-commands')).testCommand(
        paths,
        {
          policy: values.policy as string | undefined,
          verbose: values.verbose === true,
          coverage: values.coverage === true,
          coverageThreshold: percent,
          format,
        },
        out,
      );
    },
  },
  evaluate: {
    summary: 'Evaluate a claim under a policy at an instant: events, deficiencies, deadlines, eligibility, explained',
    usage: 'cpor evaluate FILE [--policy FILE] [--as-of INSTANT]',
    help: `Reads FILE (JSON or YAML; the body of POST /v1/evaluate: { claim: { id?, fields,
status, substatus?, poe?, reason?, history? }, event?, asOf, policyVersion? }) and
prints the evaluation as JSON: allowed and blocked events, editable fields, PoE
deficiencies, submission requirements, deadlines, overdue flags and incentive
eligibility, each rule with its explanation, and what the optional event would do.
Nothing is stored.
  --policy FILE       evaluate under this policy file (default: the version of
                      CPOR_POLICY, or of the bundled policies, that the input's
                      policyVersion names or that is in effect at asOf)
  --as-of INSTANT     evaluate at this instant instead of the file's asOf (default
                      when the file has none: now)
Exit status: 0; 1 when the file or the policy is invalid (located errors on stderr,
FILE:LINE:COLUMN: $.path: message); 2 on bad arguments.`,
    options: { policy: { type: 'string' }, 'as-of': { type: 'string' } },
    async run(files, values, out) {
      if (files.length !== 1) return usageError(this, 'name one evaluation file', out);
      // Loaded on demand: the other tools need not load the evaluator.
      return (await import('./cli/evaluate-command')).evaluateCommand(
        files[0]!,
        { policy: values.policy as string | undefined, asOf: values['as-of'] as string | undefined },
        out,
      );
    },
  },
  serve: {
    summary: 'Run the HTTP service (SQLite under DATA_DIR, or DATABASE_URL)',
    usage: 'cpor serve [--demo]',
    help: `Starts the claims API with the policy in CPOR_POLICY (default: the bundled one),
on SQLite under DATA_DIR (default ./data) or PostgreSQL when DATABASE_URL is set.
Migrations run at start; the scheduler fires due deadlines (also those that fell due
while the service was down) and delivers webhooks. Configuration comes from the
environment (see README); a bad value stops the start with a message. SIGTERM or
SIGINT stop it gracefully.
--demo: a throwaway SQLite file with demo claims in every status, development sign-in
and a virtual clock the dashboard moves; refused with DATABASE_URL or a HOST other
than a loopback address.`,
    options: { demo: { type: 'boolean' } },
    async run(_positionals, values, out) {
      // Loaded on demand: the scenario tools need neither Express nor a database driver.
      return (await import('./cli/serve-command')).serveCommand(out, { demo: values.demo === true });
    },
  },
  token: {
    summary: 'Mint a development bearer token',
    usage: 'cpor token --role ROLE [--partner ID] [--tenant ID] [--subject SUB] [--expires 1h]',
    help: `Prints an HS256 JWT the service accepts, signed with JWT_SECRET or the secret
generated under DATA_DIR. The role must be one of the policy in effect (CPOR_POLICY,
default the bundled policies/); partner roles need --partner, customers --tenant.
Exit status: 0; 1 on a bad configuration; 2 on a token the service would refuse.
For development and tests only: in production tokens come from your identity
provider (JWKS_URL), and this command refuses to run when JWKS_URL is set.`,
    options: {
      role: { type: 'string' },
      partner: { type: 'string' },
      tenant: { type: 'string' },
      subject: { type: 'string' },
      expires: { type: 'string' },
    },
    async run(_positionals, values, out) {
      if (typeof values.role !== 'string') return usageError(this, '--role is required', out);
      return (await import('./cli/token-command')).tokenCommand(
        {
          role: values.role,
          partnerId: values.partner as string | undefined,
          tenantId: values.tenant as string | undefined,
          subject: values.subject as string | undefined,
          expiresIn: values.expires as string | undefined,
        },
        out,
      );
    },
  },
  backtest: {
    summary: 'Replay stored claims under a candidate policy; report what would change',
    usage: 'cpor backtest --policy FILE [--since DATE] [--until T] [--format F] [--out FILE] [--max-latency-increase PCT]',
    help: `Replays the history of every claim in the configured database (SQLite under
DATA_DIR, or DATABASE_URL) on a virtual clock, once under the policy each claim
follows today (CPOR_POLICY: its pinned version, else the one in effect) and once
under the candidate policy FILE, letting deadlines fire up to --until. Reports per
claim and in total what would change: status, substatus, reason, overdue flags,
deficiencies, deadline runs (due instant and outcome) and events the candidate
would refuse.
  --since DATE        only claims created at or after DATE (YYYY-MM-DD, 00:00 in the
                      policy calendar's time zone) or an ISO-8601 instant
  --until INSTANT     the virtual now both replays run to (default: now); history
                      after it is left out
  --format F          text (default: totals, the changed claims, evaluation times),
                      json (the full report: { candidate, until, since, claims,
                      skipped, totals, latency }), jsonl (one claim per line, the
                      totals last) or csv (one row per claim); written as it comes
  --out FILE          write the report to FILE and the text summary to stdout
  --workers N         worker threads replaying claims (default: the machine's cores)
  --max-latency-increase PCT
                      exit 1 when the candidate's evaluation time on the same claims
                      is more than PCT percent above the baseline's
  --exit-code         exit 1 when any claim changes or cannot be compared
Progress goes to stderr: a bar on a terminal, plain lines otherwise.
Exit status: 0 (also when claims change, unless --exit-code); 1 when the candidate
policy or the configuration does not load (located errors on stderr); 2 on bad
arguments.`,
    options: {
      policy: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      workers: { type: 'string' },
      'max-latency-increase': { type: 'string' },
      'exit-code': { type: 'boolean' },
    },
    async run(positionals, values, out) {
      if (typeof values.policy !== 'string') return usageError(this, '--policy is required', out);
      if (positionals.length > 0) return usageError(this, `unexpected argument "${positionals[0]}"`, out);
      // Loaded on demand: the scenario tools need no database driver.
      return (await import('./cli/backtest-command')).backtestCommand(
        {
          policy: values.policy,
          since: values.since as string | undefined,
          until: values.until as string | undefined,
          format: values.format as string | undefined,
          out: values.out as string | undefined,
          workers: values.workers as string | undefined,
          maxLatencyIncrease: values['max-latency-increase'] as string | undefined,
          exitCode: values['exit-code'] === true,
        },
        out,
      );
    },
  },
  'audit verify': {
    summary: "Recompute every claim's history hash chain; name the first broken entry",
    usage: 'cpor audit verify [--claim ID]',
    help: `Reads the history of every claim (or one) from the configured database and
recomputes its hash chain. Prints the first broken entry of each broken claim
(edited, removed or reordered) and exits 1; exits 0 when every chain holds.
Exits 1 without touching anything when there is no database, or no claim ID.`,
    options: { claim: { type: 'string' } },
    async run(_positionals, values, out) {
      return (await import('./cli/audit-verify-command')).auditVerifyCommand({ claimId: values.claim as string | undefined }, out);
    },
  },
};

function usageError(command: Command, message: string, out: Output): number {
  out.stderr(`cpor: ${message}\nusage: ${command.usage}\n`);
  return 2;
}

function mainHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return `cpor — CPOR claims policy service

usage: cpor COMMAND [options]   (cpor COMMAND --help for details; cpor --version)

${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)
  .join('\n')}
`;
}

/** `cpor policy --help`, `cpor audit --help`: the subcommands of a group. */
function groupHelp(group: string): string {
  const members = Object.entries(COMMANDS).filter(([name]) => name.startsWith(`${group} `));
  const width = Math.max(...members.map(([, c]) => c.usage.length));
  return `usage: cpor ${group} SUBCOMMAND [options]   (cpor ${group} SUBCOMMAND --help for details)

${members.map(([, c]) => `  ${c.usage.padEnd(width)}  ${c.summary}`).join('\n')}
`;
}

const stdio: Output = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[], out: Output = stdio): Promise<number> {
  const [first, second] = argv;
  if (first === '--version' || first === '-V') {
    // A static import: `cpor serve`'s bundle runs from a V8 code cache, where Node 20 has no import().
    out.stdout(`${(createRequire(import.meta.url)('../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    out.stdout(mainHelp());
    return first ? 0 : 2;
  }
  const name = COMMANDS[`${first} ${second}`] ? `${first} ${second}` : first;
  const group = first === 'policy' || first === 'audit';
  const command = COMMANDS[name];
  if (!command && group && (second === undefined || second === '--help' || second === '-h' || second === 'help')) {
    out[second === undefined ? 'stderr' : 'stdout'](groupHelp(first));
    return second === undefined ? 2 : 0;
  }
  if (!command) {
    out.stderr(`cpor: unknown command "${argv.slice(0, group ? 2 : 1).join(' ')}"\n\n${mainHelp()}`);
    return 2;
  }
  const rest = argv.slice(name.split(' ').length);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageError(command, (error as Error).message, out);
  }
  if (parsed.values.help) {
    out.stdout(`usage: ${command.usage}\n\n${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(parsed.positionals, parsed.values, out);
  } catch (error) {
    out.stderr(`cpor ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
