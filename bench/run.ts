/**
 * Benchmarks: `npm run bench`. Speed and memory targets live here, not in unit tests. Each line
 * prints the measurement, its target and PASS/FAIL; the exit code is 1 if any target is missed.
 */
import { benchBundles } from './bundles';
import { benchDomain } from './domain';
import { printResults, results } from './record';
import { benchReencryption, benchReencryptionWorkflow } from './reencryption';
import { benchKmsRate, benchSummarizeMemory } from './reencryption-scale';
import { benchConfirmation, benchWorkflow } from './workflow';

async function main() {
  // 1-4. Intake, the eligibility decision and the notification.
  benchDomain();
  // 5. The whole workflow offline, 1 and 10 keys, and the storms.
  await benchWorkflow();

  // 5b. Confirmation: how soon after a rotation really ends the workflow confirms it.
  await benchConfirmation();

  // 5c. Re-encryption: the envelope path's throughput against the Encryption SDK alone, its memory, and the
  // S3 and KMS requests per object of each path.
  await benchReencryption();
  await benchReencryptionWorkflow();
  // 5d. Re-encryption at scale: the real rate limit over 20,000 objects, the summary at 1 M.
  results.push(...(await benchSummarizeMemory()), ...(await benchKmsRate()));

  // 6. Lean functions: each Lambda bundle built with the stack's own esbuild options, its size
  // and its cold module load (a fresh node process requiring it) against a bare node start.
  benchBundles();

  const failed = printResults();
  process.exitCode = failed ? 1 : 0;
}

void main();
