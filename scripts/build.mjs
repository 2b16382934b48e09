#!/usr/bin/env node
// `npm run build` (also run by `npm ci` through `prepare`, and by `npm test` first): compiles
// src/ into dist/ with esbuild, so the installed service runs plain JavaScript and no
// TypeScript compiler loads at run time.
//
// Why esbuild and not `tsc`: a `tsc` emit keeps every import path as written, and ours are
// extensionless (moduleResolution "Bundler"), which Node's ESM loader refuses; it would take a
// `.js` on every relative import in the tree. esbuild resolves them as vitest and tsx do, and
// `npm run typecheck` (tsc --noEmit) still checks the types. The output is ESM for Node 20;
// dependencies stay in node_modules (better-sqlite3 is native), and code splitting keeps the
// commands lazily loaded as in src/cli.ts (`cpor --version` loads neither Express nor knex).
//
// dist/ is flat (entries and shared chunks side by side), so a module that finds files
// relative to itself sees the same parent folder from dist/ as from src/'s first level.
// dist/.built is written last: bin/cpor.mjs runs dist/ only when it is newer than every source.
//
// The dashboard (web/, preact + TypeScript) is bundled for browsers into dist/web: one script
// and one stylesheet named by their content hash (cached for good by the service), and an
// index.html that names them (served for every client route by src/http/static-app.ts).
// What only some pages need is split off and loaded when used: the PoE preview's PDF renderer
// (pdf.js, web/src/views/pdf-pages.ts) is a module of its own (the app imports it by the URL
// PDF_PAGES_URL when a preview opens), and pdf.js's worker is copied beside it under its content
// hash (PDF_WORKER_URL).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVICE_BUNDLE, codeCachePath } from './code-cache.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The ajv validators compiled ahead of time (PRECOMPILED_VALIDATORS_FILE in src/domain/json-schema.ts). */
const VALIDATORS_FILE = 'ajv-validators.cjs';
/** The bundled policies parsed ahead of time (PARSED_POLICIES_FILE in src/rules/load-policy.ts). */
const PARSED_POLICIES_FILE = 'parsed-policies.json';
/** The migrations recorded on an empty SQLite file (FRESH_SCHEMA_FILE in src/db/database.ts). */
const FRESH_SCHEMA_FILE = 'fresh-schema.json';
const outdir = fileURLToPath(new URL('../dist', import.meta.url));
/** pdf.js's worker, a prebuilt module (the legacy build, as the app's import), copied as is. */
const PDF_WORKER = 'node_modules/pdfjs-dist/legacy/build/pdf.worker.min.mjs';

/**
 * What stays in node_modules: better-sqlite3 (native), pg (loaded only for a postgres:// URL),
 * and the drivers knex would load for other databases (never installed).
 */
const RUNTIME_EXTERNAL = ['better-sqlite3', 'pg', 'iconv-lite', 'mime-db', 'pg-native', 'pg-query-stream', 'mysql', 'mysql2', 'mariadb', 'mariadb/*', 'oracledb', 'sqlite3', 'tedious'];

/** knex's dialects for databases the service does not speak: left out of dist/ (less code to read at start-up). */
const UNUSED_KNEX_DIALECTS = /^\.\/(cockroachdb|mssql|mysql|mysql2|mariadb|oracle|oracledb|pgnative|redshift)$/;

/** Resolves knex's unused dialects to a module that says so if ever loaded (the configuration allows only SQLite and PostgreSQL). */
const withoutUnusedKnexDialects = {
  name: 'without-unused-knex-dialects',
  setup(build) {
    build.onResolve({ filter: UNUSED_KNEX_DIALECTS }, (args) =>
      args.importer.includes('/knex/lib/dialects/index.js') ? { path: args.path, namespace: 'unused-knex-dialect' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'unused-knex-dialect' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`knex dialect ${args.path.slice(2)} is not part of the cpor build`)});`,
      loader: 'js',
    }));
  },
};

/**
 * prom-client's Pushgateway (the service serves /metrics, it never pushes) is left out: loading
 * it loads node's https, tls and zlib at start-up. A module that says so takes its place.
 */
const withoutPushgateway = {
  name: 'without-pushgateway',
  setup(build) {
    build.onResolve({ filter: /^\.\/lib\/pushgateway$/ }, (args) =>
      args.importer.includes('/prom-client/index.js') ? { path: 'pushgateway', namespace: 'unused-pushgateway' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'unused-pushgateway' }, () => ({
      contents: "module.exports = class Pushgateway { constructor() { throw new Error('prom-client Pushgateway is not part of the cpor build'); } };",
      loader: 'js',
    }));
  },
};

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // An install without devDependencies (npm ci --omit=dev): ship a dist/ built elsewhere.
  console.error('build: esbuild is not installed (devDependencies omitted?): dist/ not built');
  process.exit(0);
}

const started = performance.now();
const buildId = sourceDigest();
// Until the new mark is written, bin/cpor.mjs runs the sources: never a half-written dist/.
rmSync(`${outdir}/.built`, { force: true });
/** What both builds of the service's code share. */
const serviceBuild = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Pure-JS dependencies are bundled in (one file read and compiled instead of hundreds of
  // modules resolved one by one); native or optional ones stay in node_modules.
  external: RUNTIME_EXTERNAL,
  plugins: [withoutUnusedKnexDialects, withoutPushgateway],
  // Whitespace and syntax only (names stay as written, for logs and stack traces): less to parse.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  metafile: true,
};
const result = await esbuild.build({
  ...serviceBuild,
  entryPoints: { cli: 'src/cli.ts', 'job-worker': 'src/workers/job-worker.ts' },
  outdir,
  splitting: true,
  format: 'esm',
  // Bundled CommonJS dependencies call require() (node's built-ins): give each chunk one.
  banner: { js: "import { createRequire as __cporCreateRequire } from 'node:module'; const require = __cporCreateRequire(import.meta.url);" },
  define: { __CPOR_BUILD_ID__: JSON.stringify(buildId) },
  chunkNames: 'chunk-[hash]',
});
// The same CLI as one CommonJS file, which `cpor serve` runs with a V8 code cache
// (scripts/code-cache.mjs: Node 20 caches compiled code for a vm.Script, not for ES modules).
// Its dynamic imports stay lazy (esbuild runs a module's body when first imported).
const serviceBundle = await esbuild.build({
  ...serviceBuild,
  entryPoints: ['src/cli.ts'],
  outfile: `${outdir}/${SERVICE_BUNDLE}`,
  format: 'cjs',
  // Modules that find files beside themselves (validators, dashboard, worker) do so from dist/, as in the ESM build.
  define: { 'import.meta.url': '__cporModuleUrl', __CPOR_BUILD_ID__: JSON.stringify(buildId) },
  banner: { js: "const __cporModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
const web = await buildWeb();
const validators = await buildValidators();
const parsedPolicies = await writeParsedPolicies();
const freshSchema = await writeFreshSchema();
// Chunks of earlier builds (their names are content hashes) and their code caches go.
const current = new Set([...[result, serviceBundle].flatMap((built) => Object.keys(built.metafile.outputs)).map((file) => basename(file)), 'web', VALIDATORS_FILE, PARSED_POLICIES_FILE, FRESH_SCHEMA_FILE]);
for (const file of readdirSync(outdir)) if (!current.has(file)) rmSync(`${outdir}/${file}`, { force: true });
writeFileSync(`${outdir}/.built`, `${new Date().toISOString()}\n`);
const codeCache = await writeCodeCache();
const files = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js')).length;
console.error(
  `build: dist/ (${files} files and ${SERVICE_BUNDLE}${codeCache ? ' with its V8 code cache' : ''}; dashboard ${web.join(', ')}; ${validators} ajv validators and ${parsedPolicies} bundled policies ahead of time; ${freshSchema} statements for a new SQLite file) in ${Math.round(performance.now() - started)} ms`,
);

/**
 * Starts the service once from dist/ (`cpor serve` on a fresh SQLite folder in a temporary
 * directory, PORT=0, the bundled policies), waits until /readyz answers 200 and stops it: with
 * CPOR_WRITE_CODE_CACHE=1 it writes the V8 code cache of dist/cli.cjs as it stops, holding what
 * start-up compiled. Answers whether the cache is there; a run that fails only costs the cache.
 */
async function writeCodeCache() {
  const dir = mkdtempSync(join(tmpdir(), 'cpor-build-cache-'));
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info', CPOR_WRITE_CODE_CACHE: '1' };
  for (const name of ['DATABASE_URL', 'CPOR_POLICY', 'npm_lifecycle_event']) delete env[name];
  const child = spawn(process.execPath, [join(root, 'bin', 'cpor.mjs'), 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const giveUp = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk.toString();
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*cpor service listening/.exec(out);
        if (match) resolve(match[1]);
      });
      void exited.then((code) => reject(new Error(`cpor serve exited with ${code}`)));
    });
    for (let tries = 0; tries < 500; tries++) {
      const answer = await fetch(`${url}/readyz`).catch(() => undefined);
      await answer?.arrayBuffer();
      if (answer?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGTERM');
    if ((await exited) !== 0) throw new Error('cpor serve did not stop cleanly');
  } catch (error) {
    child.kill('SIGKILL');
    console.error(`build: no V8 code cache for dist/${SERVICE_BUNDLE} (${error.message}); the service compiles its code at start-up`);
  } finally {
    clearTimeout(giveUp);
    rmSync(dir, { recursive: true, force: true });
  }
  return existsSync(codeCachePath(outdir));
}

/**
 * What the build is made of: a SHA-256 of the sources, migrations and locked dependencies and of
 * this script. Defined in the bundles as __CPOR_BUILD_ID__; what the build writes ahead of time
 * for the service (the parsed policies) carries it, and is used only by the build of that id.
 */
function sourceDigest() {
  const hash = createHash('sha256');
  const files = ['package-lock.json', 'scripts/build.mjs'];
  for (const dir of ['src', 'migrations']) {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) files.push(join(entry.parentPath ?? entry.path, entry.name).slice(root.length));
    }
  }
  for (const file of files.sort()) hash.update(`${file}\0`).update(readFileSync(join(root, file))).update('\0');
  return hash.digest('hex');
}

/**
 * Runs `use` on the exports of a build-time script (scripts/*.ts), bundled with the service's own
 * code to a temporary module in dist/ (removed afterwards).
 */
async function withBuildModule(entry, use) {
  const temporary = `${outdir}/.${basename(entry, '.ts')}-${process.pid}.mjs`;
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile: temporary,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    return await use(await import(pathToFileURL(temporary).href));
  } finally {
    rmSync(temporary, { force: true });
  }
}

/**
 * The bundled policies (policies/*.yaml) parsed and checked ahead of time, with the service's own
 * code (scripts/parsed-policies.ts bundled to a temporary module), into dist/parsed-policies.json
 * (src/rules/load-policy.ts reads it). Answers how many it holds (a file with warnings is left out).
 */
async function writeParsedPolicies() {
  return withBuildModule('scripts/parsed-policies.ts', async ({ parsedPoliciesFile }) => {
    const texts = readdirSync(join(root, 'policies'))
      .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
      .map((name) => readFileSync(join(root, 'policies', name), 'utf8'));
    const file = parsedPoliciesFile(texts, buildId);
    writeFileSync(`${outdir}/${PARSED_POLICIES_FILE}`, file);
    return Object.keys(JSON.parse(file).policies).length;
  });
}

/**
 * The statements the migrations send to an empty SQLite database (scripts/fresh-schema.ts bundled
 * to a temporary module runs them in a temporary folder), into dist/fresh-schema.json: the
 * compiled service replays them on a new database file. Answers how many there are.
 */
async function writeFreshSchema() {
  return withBuildModule('scripts/fresh-schema.ts', async ({ freshSchemaFile }) => {
    const file = await freshSchemaFile(buildId);
    writeFileSync(`${outdir}/${FRESH_SCHEMA_FILE}`, file);
    return JSON.parse(file).schema.statements.length;
  });
}

/**
 * ajv validators compiled ahead of time: the schemas of scripts/ajv-schemas.ts (bundled to a
 * temporary module to read them) as ajv standalone code, in one CommonJS file the service loads
 * from dist/ (src/domain/json-schema.ts, namedValidator): it exports a function of the formats,
 * which the generated code reads as `formats`, answering the validators by name. Compiling them
 * took most of the service's start-up. Answers how many it wrote.
 */
async function buildValidators() {
  return withBuildModule('scripts/ajv-schemas.ts', async ({ AJV_SCHEMAS, createAjv }) => {
    const { _ } = await import('ajv');
    const standaloneCode = (await import('ajv/dist/standalone/index.js')).default.default;
    const parts = AJV_SCHEMAS.map(({ name, schema, options }) => {
      const { $schema: _dialect, ...rest } = schema;
      const ajv = createAjv({ ...options, code: { source: true, formats: _`formats` } });
      const code = standaloneCode(ajv, ajv.compile(rest));
      return `validators[${JSON.stringify(name)}] = (() => {\nconst module = { exports: {} };\n${code}\nreturn module.exports;\n})();`;
    });
    writeFileSync(
      `${outdir}/${VALIDATORS_FILE}`,
      `'use strict';\n// Generated by scripts/build.mjs from scripts/ajv-schemas.ts (ajv standalone code): do not edit.\nmodule.exports = function validatorsFor(formats) {\nconst validators = {};\n${parts.join('\n')}\nreturn validators;\n};\n`,
    );
    return parts.length;
  });
}

/** Bundles web/src/main.tsx (and the CSS it imports) into dist/web; returns the names of what the page loads. */
async function buildWeb() {
  const webdir = `${outdir}/web`;
  rmSync(webdir, { recursive: true, force: true });
  mkdirSync(`${webdir}/assets`, { recursive: true });
  const worker = readFileSync(`${root}/${PDF_WORKER}`);
  const workerName = `pdf-worker-${createHash('sha256').update(worker).digest('hex').slice(0, 10)}.mjs`;
  copyFileSync(`${root}/${PDF_WORKER}`, `${webdir}/assets/${workerName}`);
  const common = {
    absWorkingDir: root,
    outdir: `${webdir}/assets`,
    bundle: true,
    // Big parts loaded on demand (the policy editor's CodeMirror) become chunks of their own.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    logLevel: 'warning',
    metafile: true,
  };
  // A build of its own (not a split chunk): the app then shares no chunk with it, so the page
  // loads exactly what it did before the preview existed, and names the renderer by URL.
  const pdfBuild = await esbuild.build({
    ...common,
    entryPoints: { 'pdf-pages': 'web/src/views/pdf-pages.ts' },
    tsconfig: 'web/tsconfig.json',
    define: { PDF_WORKER_URL: JSON.stringify(`/assets/${workerName}`) },
  });
  const pdfPages = basename(Object.keys(pdfBuild.metafile.outputs).find((file) => file.endsWith('.js')));
  const built = await esbuild.build({
    ...common,
    entryPoints: { app: 'web/src/main.tsx' },
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: 'web/tsconfig.json',
    assetNames: '[name]-[hash]',
    external: ['/assets/*'], // the renderer's URL, served beside the app, never bundled into it
    define: { 'process.env.NODE_ENV': '"production"', PDF_PAGES_URL: JSON.stringify(`/assets/${pdfPages}`) },
  });
  const outputs = Object.entries(built.metafile.outputs);
  const entry = outputs.find(([, output]) => output.entryPoint === 'web/src/main.tsx');
  const script = basename(entry[0]);
  const style = entry[1].cssBundle ? basename(entry[1].cssBundle) : undefined;
  // No inline script or style: the page's Content-Security-Policy allows only files from this origin.
  writeFileSync(
    `${webdir}/index.html`,
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CPOR claims</title>
${style ? `<link rel="stylesheet" href="/assets/${style}">\n` : ''}<script type="module" src="/assets/${script}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The claims dashboard needs JavaScript.</noscript>
</body>
</html>
`,
  );
  return [script, style].filter(Boolean);
}
