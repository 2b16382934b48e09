// ESLint flat config: typescript-eslint's recommended rules, plus the STYLE.md habits a tool can hold.
// Not the type-checked presets: with type information a run took 2 min 13 s here (against 35 s
// without) and its findings were mostly no-unsafe-* on `any` from supertest and knex; `tsc` already
// runs in CI for the types.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const DOMAIN = ['src/machines/**', 'src/rules/**', 'src/calendar/**', 'src/claims/**', 'src/evaluation/**', 'src/backtest/**', 'src/domain/**'];

export default defineConfig(
  globalIgnores(['node_modules/', 'coverage/', 'data/', 'dist/', '.tmp/']),
  {
    files: ['**/*.{ts,tsx,js,mjs,cjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      // Node 20's globals that the plain .mjs/.cjs files use (TypeScript checks the .ts files' names itself).
      globals: Object.fromEntries(
        [
          ...['process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'performance', 'fetch', 'FormData', 'Blob', 'File'],
          ...['TextEncoder', 'TextDecoder', 'AbortController', 'setTimeout', 'clearTimeout', 'setImmediate', 'structuredClone'],
        ].map((name) => [name, 'readonly']),
      ),
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_`-prefixed names are deliberately unused (positional parameters, rest-omitted fields).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // A type-only import says so, so bundlers and readers know it costs nothing at run time.
      // `typeof import('x')` stays allowed: vitest's importOriginal<typeof import('x')>() needs it.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
    },
  },
  {
    // The dashboard runs in browsers (web/, bundled by scripts/build.mjs); tsc checks its DOM names.
    files: ['web/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } } },
    rules: { 'no-undef': 'off' },
  },
  {
    // CommonJS tool configs (.dependency-cruiser.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // STYLE.md: named exports only, so a name means the same thing everywhere it is imported.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md).' },
        { selector: 'ExportSpecifier[exported.name="default"]', message: 'Named exports only (STYLE.md).' },
      ],
    },
  },
  {
    // STYLE.md: time is a dependency in the domain (clock.now()), never read from the system.
    files: DOMAIN,
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md).' },
        { selector: 'ExportSpecifier[exported.name="default"]', message: 'Named exports only (STYLE.md).' },
        {
          selector: 'CallExpression[callee.object.name="Date"][callee.property.name="now"]',
          message: 'The domain takes time from the injected clock (clock.now()), never Date.now().',
        },
        {
          selector: 'NewExpression[callee.name="Date"][arguments.length=0]',
          message: 'The domain takes time from the injected clock (clock.now()), never new Date().',
        },
      ],
    },
  },
);
