import { dirname, join } from 'node:path';

/**
 * A speed fix for @cloud-copilot/iam-policy, the policy model iam-simulate evaluates with. It
 * compares condition operator names (`StringEqualsIfExists`, `ForAnyValue:...`) case-insensitively
 * with `a.localeCompare(b, undefined, { sensitivity: 'accent' })`, several times per condition per
 * evaluation. V8 builds an ICU collator for every such call (about 5 µs each): in a 20,000-object
 * offline run that was the largest single cost of the stand-in. ECMA-402 defines that call as
 * `new Intl.Collator(undefined, options).compare(a, b)`, so one collator made once with the same
 * options gives the same answers (the default locale cannot change within a process).
 *
 * The replacement is installed only after it agreed with the library's own functions on probes
 * that tell the sensitivities apart (case, accents, lengths); a library that compares differently
 * keeps its own functions and `installSharedCollator` says so, so a test fails instead of IAM
 * answering differently.
 */

/** The two exported comparisons of iam-policy's utils module that its condition operators call. */
export interface CompareModule {
  caseInsensitiveEquals: (first: string, second: string) => boolean;
  caseInsensitiveEndsWith: (value: string, suffix: string) => boolean;
}

/** Pairs on which `sensitivity: 'accent'` differs from every other sensitivity or from plain equality. */
const EQUALS_PROBES: ReadonlyArray<readonly [string, string]> = [
  ['IfExists', 'ifexists'],
  ['ForAnyValue', 'FORANYVALUE'],
  ['ForAllValues', 'ForAnyValue'],
  ['résumé', 'resume'],
  ['Résumé', 'résumé'],
  ['a', 'ä'],
  ['', ''],
  ['abc', 'ab'],
];
const ENDS_WITH_PROBES: ReadonlyArray<readonly [string, string]> = [
  ['StringEqualsIfExists', 'IfExists'],
  ['StringEqualsIFEXISTS', 'IfExists'],
  ['StringEquals', 'IfExists'],
  ['Exists', 'IfExists'],
];

let installed: CompareModule | undefined;

/** iam-policy's utils module, the copy iam-simulate itself loads (resolved from iam-simulate). */
function iamPolicyUtils(): CompareModule {
  const simulateMain = require.resolve('@cloud-copilot/iam-simulate');
  const policyMain = require.resolve('@cloud-copilot/iam-policy', { paths: [dirname(simulateMain)] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(dirname(policyMain), 'utils.js')) as CompareModule;
}

/**
 * Replaces the case-insensitive comparisons of `utils` (iam-policy's utils module, or a stand-in for
 * it in a test) by the same comparison on one shared Intl.Collator. Throws if the functions are
 * missing or answer differently from the replacement on any probe (then nothing is replaced).
 */
export function shareCollatorIn(utils: CompareModule): void {
  const { caseInsensitiveEquals, caseInsensitiveEndsWith } = utils;
  if (typeof caseInsensitiveEquals !== 'function' || typeof caseInsensitiveEndsWith !== 'function')
    throw new Error(
      'iam-policy no longer exports caseInsensitiveEquals/caseInsensitiveEndsWith: review local/iam/shared-collator.ts',
    );
  const collator = new Intl.Collator(undefined, { sensitivity: 'accent' });
  const equals = (first: string, second: string): boolean => collator.compare(first, second) === 0;
  const endsWith = (value: string, suffix: string): boolean => equals(value.slice(suffix.length * -1), suffix);
  const disagreement =
    EQUALS_PROBES.find(([a, b]) => equals(a, b) !== caseInsensitiveEquals(a, b)) ??
    ENDS_WITH_PROBES.find(([a, b]) => endsWith(a, b) !== caseInsensitiveEndsWith(a, b));
  if (disagreement)
    throw new Error(
      `iam-policy compares ${JSON.stringify(disagreement)} differently from a shared Intl.Collator: review local/iam/shared-collator.ts`,
    );
  utils.caseInsensitiveEquals = equals;
  utils.caseInsensitiveEndsWith = endsWith;
}

/** shareCollatorIn on iam-policy's own utils module, once per module registry. */
export function installSharedCollator(): void {
  const utils = iamPolicyUtils();
  if (installed === utils) return;
  shareCollatorIn(utils);
  installed = utils;
}
