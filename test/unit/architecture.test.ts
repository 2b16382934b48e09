import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');
const DOMAIN = ['machines', 'rules', 'calendar', 'claims', 'evaluation', 'backtest', 'domain'];
const FORBIDDEN = [/^express/, /^knex/, /^pg$/, /^better-sqlite3/, /^node:http/, /^busboy/, /^pino/, /^prom-client/, /\/http\//, /\/db\//, /^\.\.\/(http|db)/];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

describe('architecture', () => {
  it.each(DOMAIN)('src/%s imports nothing from HTTP or database code', (folder) => {
    const offenders = sourceFiles(join(SRC, folder)).flatMap((file) =>
      importsOf(file)
        .filter((spec) => FORBIDDEN.some((pattern) => pattern.test(spec)))
        .map((spec) => `${relative(SRC, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the domain never reads the system clock', () => {
    const offenders = DOMAIN.flatMap((folder) => sourceFiles(join(SRC, folder)))
      .filter((file) => /Date\.now\(\)|new Date\(\)/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file));
    expect(offenders).toEqual([]);
  });
});
