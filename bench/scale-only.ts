/** Only the re-encryption scale cases of the bench (`npm run bench:scale -- [summary|rate]`): see bench/reencryption-scale.ts. */
import { prepareLocalHandlerEnvironment } from '../local/runner/runner';
import { benchKmsRate, benchSummarizeMemory, type BenchResult } from './reencryption-scale';

async function main(): Promise<void> {
  prepareLocalHandlerEnvironment(); // handler logs silent, as in bench/run.ts
  const which = process.argv[2];
  const results: BenchResult[] = [];
  if (which !== 'rate') results.push(...(await benchSummarizeMemory()));
  if (which !== 'summary') results.push(...(await benchKmsRate()));
  let failed = 0;
  for (const r of results) {
    const ok = r.kind === 'min' ? r.value >= r.target : r.value <= r.target;
    if (!ok) failed++;
    console.log(
      `${ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.value.toFixed(2)} ${r.unit} (target ${r.kind === 'min' ? '>=' : '<='} ${r.target} ${r.unit})`,
    );
  }
  process.exitCode = failed ? 1 : 0;
}

void main();
