// ESLint: typescript-eslint's recommended rules, a few type-aware promise rules (cheap, and the
// ones that catch real bugs in handlers), and the import boundaries between the layers.
// `npm run lint` runs this and knip; `npm test` runs lint.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * Module specifiers a layer must not import, as regular expressions on the specifier. Relative
 * specifiers are matched by path segment, so the rules hold at any folder depth.
 */
const FORBIDDEN = {
  localOrCli: [
    {
      regex: '^(\\.\\.?/)+(.*/)?(local|cli|bin|bench)(/|$)',
      message: 'deployed code (lambdas/) never imports local/ or cli/ (nor bin/ or bench/).',
    },
  ],
  cdk: [
    { regex: '^(\\.\\.?/)+(.*/)?lib(/|$)', message: 'deployed code (lambdas/) never imports the CDK app in lib/.' },
  ],
  handler: [{ regex: '(^|/)lambdas/[^/]+/handler$', message: 'import the domain or adapters, never a task handler.' }],
  domainOnly: [
    { regex: '^@aws-sdk/', message: 'lambdas/domain is pure: SDK calls belong in lambdas/adapters.' },
    { regex: '^(aws-cdk-lib|constructs)(/|$)', message: 'lambdas/domain is pure: no CDK.' },
    { regex: '^@middy/', message: 'lambdas/domain is pure: the middy wrapper lives in lambdas/adapters.' },
    {
      regex: '^@aws-lambda-powertools/',
      message: 'lambdas/domain is pure: logging belongs to the adapters and handlers.',
    },
    {
      regex: '(^|/)adapters(/|$)',
      message: 'lambdas/domain never imports lambdas/adapters (adapters depend on the domain).',
    },
    // From inside lambdas/domain a task handler is `../<task>/handler` (no `lambdas/` segment).
    { regex: '(^|/)handler$', message: 'lambdas/domain never imports a task handler.' },
  ],
};

/**
 * The tiers, lowest first: a module may import only its own tier and the tiers before it. Bundling
 * relies on this (a Lambda bundle must not pull in the CDK or the stand-in), and an upward import
 * is how import cycles between tiers start. bin/ and bench/ are both entry points at the top.
 */
const TIERS = ['lambdas', 'lib', 'local', 'cli', 'bin|bench'];

/** The specifiers that reach a tier above `tier` (relative specifiers, matched by path segment). */
function upward(tier) {
  const above = TIERS.slice(TIERS.indexOf(tier) + 1).join('|');
  return [
    {
      regex: `^(\\.\\.?/)+(.*/)?(${above})(/|$)`,
      message: `${tier}/ never imports a tier above it (${above.replaceAll('|', ', ')}): tiers run lambdas -> lib -> local -> cli -> bin.`,
    },
  ];
}

/** The same boundaries for `require('...')`, which no-restricted-imports does not see. */
function requireBans(patterns) {
  return patterns.map(({ regex, message }) => ({
    selector: `CallExpression[callee.name='require'] > Literal.arguments[value=/${regex.replaceAll('/', '\\/')}/]`,
    message,
  }));
}

/** One config object per layer: a later object replaces (not merges) a rule's options. */
function boundary(files, patterns) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns }],
      'no-restricted-syntax': ['error', ...requireBans(patterns)],
    },
  };
}

export default defineConfig(
  { ignores: ['node_modules/', 'cdk.out/', 'dist/', 'coverage/', '**/*.d.ts'] },
  // A disable comment that no longer silences anything is itself an error.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // tsc already reports unused locals and parameters (tsconfig noUnused*); `_name` opts out.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // CommonJS entry points and Jest's own config: plain Node, no type information.
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly' } },
  },
  {
    // Tests read untyped JSON fixtures and SDK mocks; literal spaces in an expected-text regex
    // mirror the message being checked.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-regex-spaces': 'off' },
  },
  {
    // The local runner walks the synthesized CloudFormation template, which is JSON of any shape.
    files: ['local/runner/runner.ts', 'local/template.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  boundary(['lambdas/**/*.ts'], [...FORBIDDEN.localOrCli, ...FORBIDDEN.cdk]),
  boundary(
    ['lambdas/domain/**/*.ts'],
    [...FORBIDDEN.localOrCli, ...FORBIDDEN.cdk, ...FORBIDDEN.handler, ...FORBIDDEN.domainOnly],
  ),
  boundary(['lib/**/*.ts'], upward('lib')),
  boundary(['local/**/*.ts'], upward('local')),
  boundary(['cli/**/*.ts'], [...FORBIDDEN.handler, ...upward('cli')]),
);
