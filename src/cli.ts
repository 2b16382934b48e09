/** The `cpor` command: composition root of the command-line tools. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { lintPolicies } from './rules/policy-lint';
import { simulateCommand, testCommand, type Output } from './simulate/scenario-commands';

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
      return lintPolicies(paths, out, { json: values.json === true });
    },
  },
  simulate: {
    summary: 'Run scenario files on a virtual clock and show what happens',
    usage: 'cpor simulate FILE… [--json] [--policy FILE]',
    help: `Runs each scenario file through the claim service on a virtual clock: steps in
order, deadlines firing as the clock passes them. Prints a readable timeline, or
with --json an array with one object per file:
  { name, file, policy: {id, version}, passed, failures, final, timeline, deadlines }
--policy FILE runs every scenario under that policy instead of its own.
Exit status: 1 when a scenario with expectations fails or a file is broken.`,
    options: { json: { type: 'boolean' }, policy: { type: 'string' } },
    async run(files, values, out) {
      if (files.length === 0) return usageError(this, 'name at least one scenario file', out);
      return simulateCommand(files, { json: values.json === true, policy: values.policy as string | undefined }, out);
    },
  },
  test: {
    summary: 'Run every scenario with an expect block; fail if one fails',
    usage: 'cpor test DIR… [--policy FILE] [--verbose]',
    help: `Runs every *.yaml scenario under the directories (or the files named) that has an
expect block, and prints the failures and a closing line "N passed, N failed".
--policy FILE runs them all under a candidate policy. Exit status: 1 when one fails
or nothing was found.`,
    options: { policy: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } },
    async run(paths, values, out) {
      if (paths.length === 0) return usageError(this, 'name at least one directory', out);
      return testCommand(paths, { policy: values.policy as string | undefined, verbose: values.verbose === true }, out);
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

usage: cpor COMMAND [options]   (cpor COMMAND --help for details)

${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)
  .join('\n')}
`;
}

const stdio: Output = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI; returns the exit status. */
export async function main(argv: string[], out: Output = stdio): Promise<number> {
  const [first, second] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    out.stdout(mainHelp());
    return first ? 0 : 2;
  }
  const name = COMMANDS[`${first} ${second}`] ? `${first} ${second}` : first;
  const command = COMMANDS[name];
  if (!command) {
    out.stderr(`cpor: unknown command "${argv.slice(0, first === 'policy' ? 2 : 1).join(' ')}"\n\n${mainHelp()}`);
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
