/**
 * A per-run KMS grant RetireGrant did not delete: kept across the units of the loop, summarised
 * as an action, and shown with commands that are valid against the KMS API model (the flags are
 * the operation's input members, every required member given, the key's Region named).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KeyResult, RunSummary } from '../../lambdas/domain/contracts';
import { chatNotification, CHAT_LIMITS } from '../../lambdas/domain/notification/chat-notification';
import { grantNotRetiredLines, grantNotRetiredSteps } from '../../lambdas/domain/notification/grant-not-retired';
import { reencryptionSection } from '../../lambdas/domain/notification/message-reencryption';
import {
  advanceReencryption,
  emptyTargetReport,
  NOTHING_PLANNED,
  type GrantNotRetired,
  type ReencryptionState,
  type ReencryptionUnit,
} from '../../lambdas/domain/reencryption';
import { summarizeReencryption } from '../../lambdas/domain/reencryption/report';
import { chatFormatProblems } from '../chat-format';

const K1 = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const K2 = 'arn:aws:kms:eu-west-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab';
const unit = (keyArn: string, bucket: string): ReencryptionUnit => ({
  type: 'envelope',
  bucket,
  prefix: '',
  keyArn,
  origin: 'request',
});
const grant = (keyArn: string, n: number): GrantNotRetired => ({
  grantId: `${n}`.repeat(64).slice(0, 64),
  keyArn,
  error: { Error: 'Kms.AccessDeniedException', Cause: 'not the retiring principal' },
});
const completed = (u: ReencryptionUnit) => ({ ...emptyTargetReport(u.type, u.bucket, u.prefix, u.keyArn, u.origin) });

/** Two envelope units; the first unit's grant was not retired. */
function afterFirstUnit(): ReencryptionState {
  const units = [unit(K1, 'a'), unit(K2, 'b')];
  const running: ReencryptionState = { ...NOTHING_PLANNED, mode: 'RUN', units, remaining: 2, current: units[0]! };
  return advanceReencryption({ ...running, grantNotRetired: grant(K1, 1) }, completed(units[0]!));
}

describe('the loop keeps every grant left in place', () => {
  test("a unit's grant survives the next units, and the per-unit field is cleared", () => {
    const first = afterFirstUnit();
    expect(first.grantNotRetired).toBeUndefined();
    expect(first.grantsNotRetired).toEqual([grant(K1, 1)]);
    const second = advanceReencryption({ ...first, grantNotRetired: grant(K2, 2) }, completed(first.units[1]!));
    expect(second.grantsNotRetired).toEqual([grant(K1, 1), grant(K2, 2)]);
    expect(second.remaining).toBe(0);
  });

  test('a unit whose grant was retired adds nothing', () => {
    const units = [unit(K1, 'a')];
    const state: ReencryptionState = { ...NOTHING_PLANNED, mode: 'RUN', units, remaining: 1, current: units[0]! };
    expect(advanceReencryption(state, completed(units[0]!))).not.toHaveProperty('grantsNotRetired');
  });
});

describe('the summary', () => {
  test('lists the grants (also the one of a unit whose summary failed) as GRANT_NOT_RETIRED', () => {
    const state = { ...afterFirstUnit(), grantNotRetired: grant(K2, 2), branchError: { Error: 'Lambda.Unknown' } };
    const s = summarizeReencryption(state)!;
    expect(s.grantsNotRetired).toEqual([
      { grantId: grant(K1, 1).grantId, keyArn: K1, error: 'Kms.AccessDeniedException: not the retiring principal' },
      { grantId: grant(K2, 2).grantId, keyArn: K2, error: 'Kms.AccessDeniedException: not the retiring principal' },
    ]);
    expect(s.actionRequired).toBe(true);
    expect(s.actionRequiredByReason).toMatchObject({ GRANT_NOT_RETIRED: 2 });
  });

  test('without a grant left: no list and no reason', () => {
    const units = [unit(K1, 'a')];
    const state: ReencryptionState = { ...NOTHING_PLANNED, mode: 'RUN', units, remaining: 1, current: units[0]! };
    const s = summarizeReencryption(advanceReencryption(state, completed(units[0]!)))!;
    expect(s).not.toHaveProperty('grantsNotRetired');
    expect(s.actionRequiredByReason).not.toHaveProperty('GRANT_NOT_RETIRED');
  });
});

interface KmsModel {
  operations: Record<string, { input: string }>;
  shapes: Record<string, { members: Record<string, { traits?: Record<string, unknown> }> }>;
}
const model = JSON.parse(
  readFileSync(path.join(__dirname, '..', '..', 'local', 'models', 'kms.json'), 'utf8'),
) as KmsModel;

/** The AWS CLI's operation and parameter names: kebab-case of the API's PascalCase names. */
const pascal = (kebab: string) => kebab.replace(/(^|-)([a-z])/g, (_, _dash, c: string) => c.toUpperCase());
const kebab = (pascalName: string) => pascalName.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Every `aws kms ...` command in `text`, checked against the KMS model; returns the parsed flags. */
function kmsCommands(text: string): { operation: string; flags: Record<string, string> }[] {
  return [...text.matchAll(/aws kms ([a-z-]+)((?: --[a-z-]+ [^\s`]+)+)/g)].map(([, op, rest]) => {
    const operation = pascal(op!);
    const input = model.shapes[model.operations[operation]!.input]!.members;
    const flags = Object.fromEntries(
      [...rest!.matchAll(/--([a-z-]+) ([^\s`]+)/g)].map(([, flag, value]) => [flag!, value!]),
    );
    // --region is the CLI's global option; every other flag is one of the operation's inputs.
    for (const flag of Object.keys(flags).filter((f) => f !== 'region')) expect(input).toHaveProperty(pascal(flag));
    for (const [member, shape] of Object.entries(input))
      if (shape.traits?.['smithy.api#required'] !== undefined) expect(flags).toHaveProperty([kebab(member)]);
    return { operation, flags };
  });
}

describe('the commands a person is given', () => {
  const s = summarizeReencryption(afterFirstUnit())!;
  const g = s.grantsNotRetired![0]!;

  test('the e-mail: revoke-grant and list-grants for the grant, on its key, in its Region', () => {
    const commands = kmsCommands(grantNotRetiredLines(s.grantsNotRetired!).join('\n'));
    expect(commands.map((c) => c.operation)).toEqual(['RevokeGrant', 'ListGrants']);
    for (const c of commands) expect(c.flags).toEqual({ region: 'eu-west-1', 'key-id': K1, 'grant-id': g.grantId });
  });

  test('the chat next step: the same revoke-grant command', () => {
    const [step] = grantNotRetiredSteps(s.grantsNotRetired!);
    expect(kmsCommands(step!)).toEqual([
      { operation: 'RevokeGrant', flags: { region: 'eu-west-1', 'key-id': K1, 'grant-id': g.grantId } },
    ]);
  });

  test('the e-mail section says it is an action, but not that data was left behind', () => {
    const text = reencryptionSection(s, { requestId: 'r-1' }, 64 * 1024);
    expect(text).toContain('ACTION REQUIRED: KMS grants not retired (1)');
    expect(text).toContain(`grant ${g.grantId} on ${K1} (RetireGrant failed: Kms.AccessDeniedException`);
    expect(text).not.toContain('some data was not re-encrypted');
  });
});

test('chat: grants come first in the next steps, within the limit', () => {
  const key: KeyResult = {
    ...({} as KeyResult),
    ref: K1,
    keyArn: K1,
    outcome: 'SKIPPED',
    reason: 'OPTED_OUT',
    detail: 'opted out',
  };
  const grants = [1, 2, 3, 4, 5, 6].map((n) => ({ grantId: `${n}`.repeat(64), keyArn: K1, error: 'E' }));
  const summary = {
    requestId: 'r-1',
    source: 'manual',
    reason: 'exposed',
    dryRun: false,
    executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:M:x',
    outcome: 'SKIPPED',
    keys: [key],
    reencryption: { ...summarizeReencryption(afterFirstUnit())!, grantsNotRetired: grants },
  } as unknown as RunSummary;
  const n = chatNotification(summary, '[SKIPPED] 1 key');
  expect(chatFormatProblems(n)).toEqual([]);
  expect(n.content.nextSteps).toHaveLength(CHAT_LIMITS.nextSteps);
  expect(n.content.nextSteps.every((step) => step.startsWith('Revoke the KMS grant'))).toBe(true);
  expect(n.content.description).toContain('*ACTION REQUIRED*: 6 KMS grant(s) of this run not retired');
});
