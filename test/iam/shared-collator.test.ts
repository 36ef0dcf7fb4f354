import { dirname, join } from 'node:path';
import { evaluateNow } from '../../local/iam/engine';
import { shareCollatorIn, type CompareModule } from '../../local/iam/shared-collator';

const OPTIONS = { sensitivity: 'accent' } as const;
/** iam-policy's own functions, as its utils module defines them. */
const libraryEquals = (first: string, second: string) => first.localeCompare(second, undefined, OPTIONS) === 0;
const libraryEndsWith = (value: string, suffix: string) => libraryEquals(value.slice(suffix.length * -1), suffix);

/** Strings that tell case, accents, ligatures and lengths apart, in every pairing. */
const WORDS = [
  'IfExists',
  'ifexists',
  'IFEXISTS',
  'ForAnyValue',
  'foranyvalue',
  'ForAllValues',
  'resume',
  'résumé',
  'RÉSUMÉ',
  'Straße',
  'STRASSE',
  'strasse',
  'a',
  'ä',
  'A',
  '',
  'Exists',
  'StringEqualsIfExists',
  'ﬁ',
  'fi',
  'İ',
  'i',
];

describe('iam-policy comparisons on one shared Intl.Collator (local/iam/shared-collator.ts)', () => {
  it('answers exactly as the library does, for every pair of probe words (equals and ends-with)', () => {
    const utils: CompareModule = { caseInsensitiveEquals: libraryEquals, caseInsensitiveEndsWith: libraryEndsWith };
    shareCollatorIn(utils);
    expect(utils.caseInsensitiveEquals).not.toBe(libraryEquals);
    for (const a of WORDS)
      for (const b of WORDS) {
        expect([a, b, utils.caseInsensitiveEquals(a, b)]).toEqual([a, b, libraryEquals(a, b)]);
        expect([a, b, utils.caseInsensitiveEndsWith(a, b)]).toEqual([a, b, libraryEndsWith(a, b)]);
      }
  });

  it('refuses to replace a library that compares differently (here: exactly), leaving it as it was', () => {
    const exact = (a: string, b: string) => a === b;
    const endsExact = (a: string, b: string) => a.endsWith(b);
    const utils: CompareModule = { caseInsensitiveEquals: exact, caseInsensitiveEndsWith: endsExact };
    expect(() => shareCollatorIn(utils)).toThrow(/differently from a shared Intl.Collator/);
    expect(utils.caseInsensitiveEquals).toBe(exact);
    expect(utils.caseInsensitiveEndsWith).toBe(endsExact);
  });

  it('is installed in the iam-policy copy iam-simulate uses once the engine is loaded', () => {
    const simulateMain = require.resolve('@cloud-copilot/iam-simulate');
    const policyMain = require.resolve('@cloud-copilot/iam-policy', { paths: [dirname(simulateMain)] });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const utils = require(join(dirname(policyMain), 'utils.js')) as CompareModule;
    expect(String(utils.caseInsensitiveEquals)).not.toMatch(/localeCompare/);
    expect(String(utils.caseInsensitiveEquals)).toMatch(/collator\.compare/);
  });

  it('IAM still reads condition operators case-insensitively (IfExists and set operators in any case)', () => {
    const policy = (operator: string) => ({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { [operator]: { 's3:prefix': ['a*'] } } },
      ],
    });
    const ask = (operator: string, context: Record<string, string | string[]>) =>
      evaluateNow({
        principalArn: 'arn:aws:iam::111122223333:user/u',
        principalAccount: '111122223333',
        policies: [policy(operator)],
        action: 's3:GetObject',
        resource: 'arn:aws:s3:::b/k',
        context,
      }).allowed;
    // IfExists: an absent key matches; a present one must match.
    expect(ask('StringLikeIFEXISTS', {})).toBe(true);
    expect(ask('StringLikeIFEXISTS', { 's3:prefix': 'b' })).toBe(false);
    expect(ask('StringLike', {})).toBe(false);
    // Set operators in another case: any value matching is enough.
    expect(ask('forAnyValue:StringLike', { 's3:prefix': ['b', 'ab'] })).toBe(true);
    expect(ask('FORANYVALUE:StringLike', { 's3:prefix': ['b', 'c'] })).toBe(false);
  });
});
