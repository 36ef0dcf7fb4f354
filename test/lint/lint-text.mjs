// Lints in-memory files with the project's eslint.config.mjs through the ESLint Node API.
// Run as a child process by boundaries.test.ts: ESLint loads its ES-module config with a dynamic
// import, which Jest's CommonJS runtime does not allow.
// stdin: [{ filePath, code }]; stdout: [[{ ruleId, message }]] in the same order.
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cases = JSON.parse(readFileSync(0, 'utf8'));
// The files exist only in memory, so the type-aware rules (which need them in the TypeScript
// project) are switched off; the boundary rules need no types.
const eslint = new ESLint({
  cwd: fileURLToPath(new URL('../..', import.meta.url)),
  overrideConfig: [{ files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked }],
});
const out = [];
for (const { filePath, code } of cases) {
  const [result] = await eslint.lintText(code, { filePath });
  out.push(result.messages.map(({ ruleId, message }) => ({ ruleId, message })));
}
process.stdout.write(JSON.stringify(out));
