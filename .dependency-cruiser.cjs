// Architecture rules for src/, checked by `npm run depcruise` (and in CI).
// The domain folders hold the product's rules (and src/domain its shared vocabulary); they must
// read without any server around them.
const DOMAIN = '^src/(machines|rules|calendar|claims|evaluation|backtest|domain)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycle',
      severity: 'error',
      comment:
        'Folders of src/ depend on each other in one direction only: a cycle between two folders means ' +
        'neither can be read, tested or moved without the other. Move the shared piece to the folder ' +
        'both need (often src/domain/).',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-module-cycle',
      severity: 'error',
      comment: 'Modules must not import each other in a circle, even inside one folder.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-imports-no-http-or-database',
      severity: 'error',
      comment:
        'The domain (machines, rules, calendar, claims, evaluation, backtest) never imports HTTP, the database layer or their ' +
        'libraries: routes and stores translate between the outside and the domain (STYLE.md).',
      from: { path: DOMAIN },
      to: {
        path: [
          '^src/http/',
          '^src/db/',
          '(^|/)node_modules/(express|knex|pg|better-sqlite3|supertest|busboy|pino|prom-client|@types/express)/',
        ],
      },
    },
    {
      name: 'domain-imports-no-node-http',
      severity: 'error',
      comment: 'The domain does not speak HTTP (nor through node:http / node:https / node:net).',
      from: { path: DOMAIN },
      to: { dependencyTypes: ['core'], path: '^(node:)?(http|https|http2|net)$' },
    },
    {
      name: 'domain-imports-no-composition-root',
      comment:
        'The files at the root of src/ wire the service and the CLI together (and own the system clock: ' +
        'systemClock); the domain gets its clock and stores passed in instead of importing them.',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: '^src/[^/]+$' },
    },
    {
      name: 'src-imports-no-tests',
      severity: 'error',
      comment: 'Production code never depends on test code.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code or a forgotten entry point (add it to the exceptions here).',
      from: {
        orphan: true,
        pathNot: [
          '(^|/)[.][^/]+[.](?:js|cjs|mjs|ts|json)$', // dot files: tool configs
          '[.]d[.]ts$',
          '(^|/)tsconfig[.]json$',
          '^src/cli[.]ts$', // loaded by bin/cpor.mjs through tsx
          '^src/workers/', // worker threads are started by file name, not imported
          '^test/.+[.]test[.]ts$', // vitest finds them by name
          '^(bin|bench|scripts|examples)/', // run by hand or by npm scripts
        ],
      },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to nothing breaks at run time.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'not-to-dev-dependency',
      severity: 'error',
      comment:
        'src/ runs in production, where devDependencies are not installed (npm ci --omit=dev). ' +
        'The worker bootstrap is the one exception: it loads tsx only when the sources run as TypeScript (tests, development); the build starts dist/job-worker.js instead.',
      from: { path: '^src/', pathNot: '^src/workers/bootstrap[.]mjs$' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: ['node_modules/@types/'] },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    // node_modules may be a symlink (worktrees share one install): report packages as node_modules/x.
    preserveSymlinks: true,
    exclude: { path: ['^coverage/', '^data/', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
