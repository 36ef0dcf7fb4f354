import { z } from 'zod';
import { limitProblems } from '../limits';
import {
  MAX_PREFIX_LENGTH,
  REENCRYPTION_KINDS,
  type ReencryptionTargetSettings,
} from '../../lambdas/domain/reencryption';
import { DEFAULT_ACCESS_ROLES, ROLE_PATTERN, type AccessRoles } from '../../lambdas/domain/approvals/people';
import { DEFAULT_DRILL_DAILY_CAP } from '../../lambdas/domain/drill';

/** An S3 bucket name (general purpose buckets: 3-63 lower-case letters, digits, dots, hyphens). */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lower-case letters, digits, . or -)');
/** A key ARN or an alias name: the keys of setting `reEncryptTargets`. */
const KEY_OR_ALIAS = /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+|alias\/[\w/+=,.@-]+)$/;
/**
 * A KMS key ARN in any partition, Region and account: an envelope's other wrapping keys are often
 * DR keys in another Region or account. Key ids are UUIDs, or `mrk-` + 32 hex digits for
 * multi-Region keys (KMS API reference, KeyId); an alias ARN is refused because IAM evaluates
 * kms:Encrypt against the key's ARN, never the alias's.
 */
const WRAPPING_KEY_ARN =
  /^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ROLE_PATTERN_MESSAGE =
  'an IAM role name pattern (letters, digits, +=,.@_- and the wildcards * ?), e.g. OnCall or AWSReservedSSO_KmsRotateOnCall_*';
/** Role-name patterns of people allowed on a front-door route (README "Permissions"). */
const rolePatterns = (defaults: string[]) =>
  z.array(z.string().regex(ROLE_PATTERN, ROLE_PATTERN_MESSAGE)).min(1).max(20).default(defaults);
const reencryptTarget = z
  .object({
    type: z.enum(REENCRYPTION_KINDS),
    bucket: bucketName,
    /** '' = the whole bucket. */
    prefix: z.string().max(MAX_PREFIX_LENGTH).default(''),
  })
  .strict();

/**
 * The settings contract: every setting once, with its type, bounds, default and documentation
 * (`.describe`, last in each chain so that it is the field's own). From it come the validation
 * (cdk.json context, `-c`, a settings file, the construct's props, a world file's `settings`), the
 * settings table in docs/deploy.md and the construct's props interface
 * (lib/settings/settings-props.generated.ts), both written by `npm run docs:settings` and checked fresh by
 * tests. The object without cross-field checks (its `.partial()` validates overrides).
 */
export const settingsObject = z
  .object({
    minGuardDutySeverity: z
      .number()
      .min(1)
      .max(10)
      .default(7)
      .describe('GuardDuty findings below this severity are not matched (High is 7.0–8.9, Critical 9.0–10.0).'),
    notificationEmails: z
      .array(z.string().email())
      .default([])
      .describe('E-mail subscriptions to the notification topic.'),
    dryRun: z.boolean().default(false).describe('Assess and notify, never rotate.'),
    rotationBudget: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(25)
      .describe("A key's lifetime on-demand rotation limit."),
    automaticReserve: z
      .number()
      .int()
      .min(0)
      .default(3)
      .describe(
        'Rotations kept back: automatic triggers never spend them; a manual request spends them only with `--force`. Smaller than `rotationBudget`.',
      ),
    cooldownMinutes: z
      .number()
      .min(15, 'at least 15 (minutes): a shorter cooldown lets repeated findings drain the lifetime budget')
      .default(60)
      .describe(
        'A key rotated on demand this recently is `RECENTLY_ROTATED` (unless `--force`). The floor keeps a retried or duplicated finding from spending the lifetime budget in quick succession.',
      ),
    dailyRotationCap: z
      .number()
      .int()
      .min(1)
      .max(5, 'at most 5 on-demand rotations per key per 24 h')
      .default(3)
      .describe(
        'Every source (findings and manual requests, forced or not): a key with this many on-demand rotations in the last 24 h (from `ListKeyRotations`) is `RECENTLY_ROTATED`; the detail says when the next is allowed.',
      ),
    pollInitialSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(10)
      .describe(
        'The shortest wait between looks at a rotation; at most 10 keeps the max(10 s, 15 %) confirmation promise. Each wait is 15 % of the time the rotation has run, within `pollInitialSeconds`..`pollMaxSeconds`; with the timeouts, validated against the worst case of one execution (`lib/limits.ts`).',
      ),
    pollMaxSeconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(300)
      .describe('The longest wait between looks at a rotation; at least `pollInitialSeconds`.'),
    rotationTimeoutMinutes: z
      .number()
      .min(1)
      .max(24 * 60)
      .default(60)
      .describe('A rotation not confirmed by then is `FAILED ROTATION_TIMEOUT`.'),
    optOutTag: z
      .string()
      .regex(/^[\w.:/=+\-@ ]{1,128}$/, 'a KMS tag key: 1-128 letters, digits, spaces or _.:/=+-@')
      .default('kms-incident-rotation')
      .describe(
        'Tag key on KMS keys: value `disabled` opts a key out (enforced by IAM too), `approval` requires an on-call decision.',
      ),
    enableGuardDuty: z
      .boolean()
      .default(true)
      .describe("The GuardDuty findings rule (and Intake's right to read them)."),
    enableSecurityHub: z
      .boolean()
      .default(true)
      .describe("The Security Hub findings rule (and Intake's right to read them)."),
    enableAccessAnalyzer: z
      .boolean()
      .default(true)
      .describe("The IAM Access Analyzer findings rule (and Intake's right to read them)."),
    securityHubWorkflowUpdates: z
      .boolean()
      .default(true)
      .describe(
        "Security Hub findings that start a run: `NOTIFIED` with a note at the start, `RESOLVED` with a note (each key's outcome, the execution, when) when every key ended `ROTATED`, else left `NOTIFIED` with the reasons; one `BatchUpdateFindings` per phase, a failure is reported in the execution output and never fails the run. `false`: Security Hub findings are never written to.",
      ),
    chatNotifications: z
      .boolean()
      .default(false)
      .describe(
        'Notifications carry per-protocol messages (SNS `MessageStructure` json): the e-mail text for `default` and `email`, and for `https` subscribers the Amazon Q Developer in chat applications custom notification (docs/deploy.md, "Chat notifications").',
      ),
    securityHubSeverityLabels: z
      .array(z.enum(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']))
      .min(1)
      .default(['HIGH', 'CRITICAL'])
      .describe('Security Hub findings matched, by severity label.'),
    securityHubProductArns: z
      .array(
        z
          .string()
          .regex(
            /^arn:(<partition>|aws[a-z-]*):securityhub:(<region>|[a-z0-9-]+):(<account>|\d{12})?:product\/[\w./<>-]+\*?$/,
            'a Security Hub product ARN or prefix such as arn:<partition>:securityhub:<region>::product/aws/*',
          ),
      )
      .min(1)
      .default(['arn:<partition>:securityhub:<region>::product/aws/*'])
      .describe(
        "Security Hub findings are acted on only from products whose `ProductArn` starts with one of these (a trailing `*` is allowed; `<partition>`, `<region>`, `<account>` stand for the stack's own). Default: AWS's own integrations; custom imports (`product/<account>/default`) are ignored.",
      ),
    acceptFindingsFromAccounts: z
      .array(z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id'))
      .default([])
      .describe(
        "Other accounts whose forwarded findings are handled (filtered in the rule pattern); this account's always are.",
      ),
    approvalTimeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .default(240)
      .describe('How long a key tagged for approval waits for a decision.'),
    approvalTimeoutAction: z
      .enum(['SKIP', 'ROTATE'])
      .default('SKIP')
      .describe('On silence: `SKIP` (not rotated, `APPROVAL_DENIED`) or `ROTATE`.'),
    ledgerDeletionProtection: z
      .boolean()
      .default(true)
      .describe('Deletion protection (and retain on stack deletion) for the audit ledger.'),
    forceMinIntervalMinutes: z
      .number()
      .min(5, 'at least 5 (minutes) between forced rotations of one key')
      .max(24 * 60)
      .default(10)
      .describe("Break-glass: no forced rotation within this long of the key's last on-demand rotation."),
    forceDailyCap: z
      .number()
      .int()
      .min(1)
      .max(5, 'at most 5 on-demand rotations per key per 24 h')
      .default(2)
      .describe(
        'Break-glass: no forced rotation once the key has had this many on-demand rotations in 24 h; at most `dailyRotationCap` (the detail names `forceDailyCap`).',
      ),
    drillDailyCapPerPerson: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(DEFAULT_DRILL_DAILY_CAP)
      .describe(
        'Drills (`kms-rotate drill`) one caller may start per UTC day: each leaves a billed key for at least 7 days.',
      ),
    reEncryptBuckets: z
      .array(bucketName)
      .max(100)
      .default([])
      .describe(
        'The only S3 buckets the re-encryption branch may touch (IAM names them). Empty: no Distributed Map, no results bucket and no S3 or data-key rights at all; every target is refused with `BUCKET_NOT_ALLOWED`.',
      ),
    reEncryptTargets: z
      .record(z.string(), z.array(reencryptTarget).min(1))
      // Checked here, not as the record's key schema: zod names a bad key only "Invalid key in record".
      .superRefine((targets, ctx) => {
        for (const key of Object.keys(targets)) {
          if (!KEY_OR_ALIAS.test(key))
            ctx.addIssue({
              code: 'custom',
              message: 'a key ARN (arn:aws:kms:<region>:<account>:key/<id>) or an alias name (alias/<name>)',
              path: [key],
            });
        }
      })
      .default({})
      .describe(
        'Per key ARN or alias name (`alias/x`): `[{"type": "s3-sse-kms" or "envelope", "bucket", "prefix"}]` re-encrypted after every rotation of that key (buckets must be in `reEncryptBuckets`; prefix `""` is the whole bucket).',
      ),
    autoReEncrypt: z
      .boolean()
      .default(false)
      .describe(
        'Finding-triggered runs re-encrypt (`true`) or only report what they would do (`false`). Manual runs always re-encrypt their targets.',
      ),
    reEncryptKmsRequestsPerSecond: z
      .number()
      .min(1)
      .max(5000)
      .default(100)
      .describe(
        "The re-encryption branch's KMS request rate bound (children x 10/s), shared with production traffic in the account's per-Region quota (at least 5,500/s for the cryptographic operations by default); docs/reencryption.md.",
      ),
    requestRoles: rolePatterns(DEFAULT_ACCESS_ROLES.request).describe(
      "Role-name patterns of the people who may request a rotation or a drill through the front door. A pattern starting `AWSReservedSSO_` names an IAM Identity Center permission set's roles; any other role must carry a source identity equal to its session name (docs/permissions.md).",
    ),
    approveRoles: rolePatterns(DEFAULT_ACCESS_ROLES.approve).describe(
      'Role-name patterns of the people who may approve or deny.',
    ),
    breakGlassRoles: rolePatterns(DEFAULT_ACCESS_ROLES.breakGlass).describe(
      'Role-name patterns of the people who may force a rotation (`/break-glass`).',
    ),
    reEncryptUpgradeEnvelopeSuite: z
      .boolean()
      .default(false)
      .describe(
        'Envelope (Encryption SDK) objects in a non-committing algorithm suite (the 1.x default 0x0378) are rewritten in the same suite (`false`: every reader of the 1.x SDKs still reads them) or in the committing suite of the same signing kind (`true`: readers need SDK 1.7+ / 2.x).',
      ),
    reEncryptEnvelopeWrappingKeys: z
      .array(
        z
          .string()
          .regex(
            WRAPPING_KEY_ARN,
            'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id or mrk-id>), any Region or account; not an alias',
          ),
      )
      .max(100)
      .default([])
      .describe(
        "The only keys besides the rotated one that an envelope (Encryption SDK) rewrite may wrap its new data key for (kms:Encrypt, which decrypts nothing): an envelope's other wrapping keys, e.g. a DR key in another Region or account (that account's key policy must allow it too). An envelope with another wrapping key not listed here is left untouched and reported `WRAPPING_KEY_UNUSABLE` (action required). Empty: only envelopes wrapped for the rotated key alone are rewritten.",
      ),
  })
  .strict();

export const settingsSchema = settingsObject
  .refine((s) => s.pollMaxSeconds >= s.pollInitialSeconds, {
    message: 'pollMaxSeconds must be >= pollInitialSeconds',
    path: ['pollMaxSeconds'],
  })
  // A forced rotation counts against the daily cap too: a larger forceDailyCap would promise what the cap refuses.
  .refine((s) => s.forceDailyCap <= s.dailyRotationCap, {
    message: 'forceDailyCap must be <= dailyRotationCap',
    path: ['forceDailyCap'],
  })
  .refine((s) => s.automaticReserve < s.rotationBudget, {
    message: 'automaticReserve must be smaller than rotationBudget',
    path: ['automaticReserve'],
  })
  // Targets only in the listed buckets: IAM names only those, so any other would fail at run time.
  .superRefine((s, ctx) => {
    const allowed = new Set(s.reEncryptBuckets);
    for (const [key, targets] of Object.entries(s.reEncryptTargets)) {
      targets.forEach((t, i) => {
        if (!allowed.has(t.bucket)) {
          ctx.addIssue({
            code: 'custom',
            message: `bucket '${t.bucket}' is not in reEncryptBuckets (${s.reEncryptBuckets.join(', ') || 'empty'}): add it there or remove the target`,
            path: ['reEncryptTargets', key, i, 'bucket'],
          });
        }
      });
    }
  })
  // The worst case of one execution must fit Step Functions (lib/limits.ts): 25,000 history
  // events, and the derived execution timeout within a year.
  .superRefine((s, ctx) => {
    for (const problem of limitProblems(s)) {
      ctx.addIssue({ code: 'custom', message: problem.message, path: [problem.settings.join(' + ')] });
    }
  });

export type Settings = z.infer<typeof settingsSchema>;
export const SETTING_NAMES = Object.keys(settingsObject.shape) as (keyof Settings)[];

/**
 * The re-encryption settings the workflow hands PlanReencryption in its payload (a constant of the
 * definition, too large for the environment: ReencryptionTargetSettings); every other setting a
 * function reads travels in its environment (lib/functions.ts).
 */
export function reencryptionTargetSettings(settings: Settings): ReencryptionTargetSettings {
  return {
    buckets: [...settings.reEncryptBuckets],
    targets: Object.fromEntries(
      Object.entries(settings.reEncryptTargets).map(([key, targets]) => [key, targets.map((t) => ({ ...t }))]),
    ),
  };
}

/** The front door's people by route, from the settings. */
export function accessRoles(settings: Settings): AccessRoles {
  return {
    request: [...settings.requestRoles],
    approve: [...settings.approveRoles],
    breakGlass: [...settings.breakGlassRoles],
  };
}

/** A settings problem, with every bad field named. */
export class SettingsError extends Error {
  constructor(
    readonly where: string,
    readonly problems: string[],
  ) {
    super(`Invalid settings in ${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

/** Turn zod issues into "name: expected ..., got ..." lines. */
export function describeIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => [prefix, ...issue.path.map(String), k].filter(Boolean).join('.'));
      return `${names.join(', ')}: unknown setting (known: ${SETTING_NAMES.join(', ')})`;
    }
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/** Validate raw settings (already parsed JSON values). Throws SettingsError naming each bad key. */
export function parseSettings(raw: unknown, where = 'cdk.json context'): Settings {
  const result = settingsSchema.safeParse(raw ?? {});
  if (!result.success) throw new SettingsError(where, describeIssues(result.error));
  return result.data;
}
