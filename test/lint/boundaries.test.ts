import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// The import boundaries of eslint.config.mjs, shown on small files linted in memory with the
// ESLint Node API (the paths need not exist: ESLint picks the rules by path).

interface LintCase {
  filePath: string;
  code: string;
}
interface LintMessage {
  ruleId: string | null;
  message: string;
}

/** Lint every case in one child process (ESLint's config loader needs real ES modules). */
function lintAll(cases: LintCase[]): LintMessage[][] {
  const stdout = execFileSync(process.execPath, [join(__dirname, 'lint-text.mjs')], {
    cwd: join(__dirname, '..', '..'),
    input: JSON.stringify(cases),
    encoding: 'utf8',
  });
  return JSON.parse(stdout) as LintMessage[][];
}

const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);
const boundaryMessages = (messages: LintMessage[]): string[] =>
  messages.filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => m.message);

const CASES = {
  domainImportsSdk: {
    filePath: 'lambdas/domain/example.ts',
    code: "import { KMSClient } from '@aws-sdk/client-kms';\n\nexport const client = new KMSClient({});\n",
  },
  domainImportsAdapter: {
    filePath: 'lambdas/domain/intake/example.ts',
    code: "import { readKey } from '../../adapters/kms';\n\nexport const read = readKey;\n",
  },
  domainImportsHandler: {
    filePath: 'lambdas/domain/example.ts',
    code: "import { handler } from '../rotate/handler';\n\nexport const h = handler;\n",
  },
  domainTypeImportsCdk: {
    filePath: 'lambdas/domain/example.ts',
    code: "import type { Stack } from 'aws-cdk-lib';\n\nexport type S = Stack;\n",
  },
  cliImportsHandler: {
    filePath: 'cli/commands/example.ts',
    code: "import { handler } from '../../lambdas/intake/handler';\n\nexport const h = handler;\n",
  },
  cliRequiresHandler: {
    filePath: 'cli/commands/example.ts',
    code: "export const h: unknown = require('../../lambdas/intake/handler').handler;\n",
  },
  handlerImportsLocal: {
    filePath: 'lambdas/rotate/example.ts',
    code: "import { startStandIn } from '../../local/standin';\n\nexport const s = startStandIn;\n",
  },
  adapterImportsCli: {
    filePath: 'lambdas/adapters/example.ts',
    code: "import { main } from '../../cli/main';\n\nexport const m = main;\n",
  },
  localImportsCli: {
    filePath: 'local/example.ts',
    code: "import { main } from '../cli/main';\n\nexport const m = main;\n",
  },
  localSandboxRequiresCli: {
    filePath: 'local/sandbox/example.ts',
    code: "export const m: unknown = require('../../cli/front-door').callFrontDoor;\n",
  },
  libImportsLocal: {
    filePath: 'lib/example.ts',
    code: "import { startStandIn } from '../local/standin';\n\nexport const s = startStandIn;\n",
  },
  cliImportsBin: {
    filePath: 'cli/commands/example.ts',
    code: "import { build } from '../../bin/build';\n\nexport const b = build;\n",
  },
  lambdaImportsBench: {
    filePath: 'lambdas/adapters/example.ts',
    code: "import { run } from '../../bench/run';\n\nexport const r = run;\n",
  },
  cleanLocal: {
    filePath: 'local/sandbox/example.ts',
    code: "import { parseSettings } from '../../lib/settings/settings';\nimport { summarise } from '../../lambdas/domain/rotation/summary';\nimport { signedPost } from '../front-door-client';\n\nexport const all = [parseSettings, summarise, signedPost];\n",
  },
  cleanCliOnLocal: {
    filePath: 'cli/commands/example.ts',
    code: "import { signedPost } from '../../local/front-door-client';\n\nexport const p = signedPost;\n",
  },
  cleanDomain: {
    filePath: 'lambdas/domain/example.ts',
    code: "import { parseKmsArn } from './arn';\n\nexport const parse = parseKmsArn;\n",
  },
  cleanCli: {
    filePath: 'cli/commands/example.ts',
    code: "import { KMSClient } from '@aws-sdk/client-kms';\nimport { summarise } from '../../lambdas/domain/rotation/summary';\n\nexport const both = [KMSClient, summarise];\n",
  },
  cleanHandler: {
    filePath: 'lambdas/rotate/example.ts',
    code: "import { KMSClient } from '@aws-sdk/client-kms';\nimport { summarise } from '../domain/summary';\n\nexport const both = [KMSClient, summarise];\n",
  },
} satisfies Record<string, LintCase>;

const names = Object.keys(CASES) as (keyof typeof CASES)[];
let results: Record<keyof typeof CASES, string[]>;

beforeAll(() => {
  const all = lintAll(names.map((n) => CASES[n]));
  results = Object.fromEntries(names.map((n, i) => [n, boundaryMessages(all[i])])) as typeof results;
}, 60_000);

test('a domain file may not import the AWS SDK', () => {
  expect(results.domainImportsSdk).toEqual([expect.stringContaining('SDK calls belong in lambdas/adapters')]);
});

test('a domain file may not import an adapter, a task handler or the CDK (even for types)', () => {
  expect(results.domainImportsAdapter).toEqual([expect.stringContaining('never imports lambdas/adapters')]);
  expect(results.domainImportsHandler).toEqual([expect.stringContaining('never imports a task handler')]);
  expect(results.domainTypeImportsCdk).toEqual([expect.stringContaining('no CDK')]);
});

test('a cli file may not import or require a task handler', () => {
  expect(results.cliImportsHandler).toEqual([expect.stringContaining('never a task handler')]);
  expect(results.cliRequiresHandler).toEqual([expect.stringContaining('never a task handler')]);
});

test('deployed code may not import local/ or cli/', () => {
  expect(results.handlerImportsLocal).toEqual([expect.stringContaining('never imports local/ or cli/')]);
  expect(results.adapterImportsCli).toEqual([expect.stringContaining('never imports local/ or cli/')]);
});

test('no tier imports or requires a tier above it (lambdas -> lib -> local -> cli -> bin)', () => {
  expect(results.localImportsCli).toEqual([expect.stringContaining('local/ never imports a tier above it')]);
  expect(results.localSandboxRequiresCli).toEqual([expect.stringContaining('local/ never imports a tier above it')]);
  expect(results.libImportsLocal).toEqual([expect.stringContaining('lib/ never imports a tier above it')]);
  expect(results.cliImportsBin).toEqual([expect.stringContaining('cli/ never imports a tier above it')]);
  expect(results.lambdaImportsBench).toEqual([expect.stringContaining('never imports local/ or cli/')]);
});

test('files that keep to their layer pass', () => {
  expect(results.cleanLocal).toEqual([]);
  expect(results.cleanCliOnLocal).toEqual([]);
  expect(results.cleanDomain).toEqual([]);
  expect(results.cleanCli).toEqual([]);
  expect(results.cleanHandler).toEqual([]);
});
