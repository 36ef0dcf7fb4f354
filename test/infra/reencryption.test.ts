/**
 * The re-encryption branch in the stack: the Distributed Map's reader, batcher,
 * processor, concurrency, failure threshold and writer; the loop; the results bucket; IAM only
 * when reEncryptBuckets is set, limited to those buckets (and their objects) and this account's
 * keys; the settings' validation.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings, SettingsError } from '../../lib/settings/settings';
import { extractWorkflow } from '../../local/template';
import { RESERVED_CONCURRENCY } from '../../lib/compliance/compliance';
import { RESULTS_EXPIRATION_DAYS, TOLERATED_FAILURE_PERCENTAGE } from '../../lib/reencryption/reencryption';
import { executionTimeoutSeconds, HISTORY_EVENT_LIMIT, MAX_EXECUTION_SECONDS, worstCase } from '../../lib/limits';
import { STATE } from '../../lambdas/domain/workflow-states';

const env = { account: '111122223333', region: 'us-east-1' };
const BUCKETS = ['orders-data', 'invoices.example'];
const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function synth(settings: Record<string, unknown>) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env });
  const template = Template.fromStack(stack);
  return {
    template,
    json: template.toJSON() as any,
    definition: extractWorkflow(template.toJSON() as any, env).definition,
  };
}

/** Every Allow statement of the template's policies, with the logical id of its role. */
function statements(
  json: any,
): { role: string; Sid?: string; Action: string | string[]; Resource: unknown; Condition?: any }[] {
  return Object.values<any>(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((p) =>
      p.Properties.PolicyDocument.Statement.filter((st: any) => st.Effect === 'Allow').map((st: any) => ({
        ...st,
        role: p.Properties.Roles[0].Ref as string,
      })),
    );
}
const actionsOf = (st: { Action: string | string[] }) => ([] as string[]).concat(st.Action);
/** ReencryptObjects' Allow statements. */
const reencryptObjectsStatements = (json: any) =>
  statements(json).filter((st) => st.role.startsWith('TasksReencryptObjectsRole'));
/**
 * ReencryptObjects' statements granting a KMS action on every key (`*`, `key/*`) without
 * kms:ViaService: with them the role could use any key directly, outside the service named.
 */
const kmsOnAnyKeyWithoutViaService = (json: any) =>
  reencryptObjectsStatements(json).filter(
    (st) =>
      actionsOf(st).some((a) => a === '*' || a.startsWith('kms:')) &&
      ([] as unknown[])
        .concat(st.Resource)
        .map((r) => (typeof r === 'string' ? r : JSON.stringify(r)))
        .some((r) => r === '*' || /key\/\*"?/.test(r)) &&
      st.Condition?.StringEquals?.['kms:ViaService'] === undefined,
  );
const WRAPPING_KEYS = [
  'arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321',
  'arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab',
];

describe('with reEncryptBuckets: the Distributed Map branch', () => {
  const { template, json, definition } = synth({
    reEncryptBuckets: BUCKETS,
    reEncryptKmsRequestsPerSecond: 200,
    reEncryptTargets: { 'alias/orders': [{ type: 'envelope', bucket: 'orders-data', prefix: 'x/' }] },
  });
  const map = definition.States[STATE.reencryptTarget];
  // 200 KMS requests/s: 20 children of 10 requests/s; a batch is what a child does in 120 s at 6 requests an object (envelope).
  const pacing = { maxConcurrency: 20, maxItemsPerBatch: 200 };

  test('PlanReencryption after ForEachKey, with the buckets and targets as a constant of its payload, then the loop', () => {
    expect(definition.States[STATE.forEachKey].Next).toBe(STATE.planReencryption);
    const plan = definition.States[STATE.planReencryption];
    expect(plan).toMatchObject({ Type: 'Task', ResultPath: '$.reencryption', Next: STATE.moreToReencrypt });
    expect(plan.Parameters).toEqual({
      'request.$': '$.request',
      'results.$': '$.results',
      settings: {
        buckets: BUCKETS,
        targets: { 'alias/orders': [{ type: 'envelope', bucket: 'orders-data', prefix: 'x/' }] },
      },
    });
  });

  test('the loop: MoreToReencrypt -> ReencryptTarget (Catch to Summarize) -> SummarizeReencryption -> MoreToReencrypt, else Notify', () => {
    expect(definition.States[STATE.moreToReencrypt]).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.reencryption.remaining', NumericGreaterThan: 0, Next: 'NeedsReencryptionGrant' }],
      Default: STATE.notify,
    });
    // Envelope units get the per-run grant first (lib/reencryption/reencryption-grant.ts); others a null token.
    expect(definition.States.NeedsReencryptionGrant).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.reencryption.current.type', StringEquals: 'envelope', Next: 'CreateReencryptionGrant' }],
      Default: 'NoReencryptionGrant',
    });
    expect(definition.States.CreateReencryptionGrant.Next).toBe(STATE.reencryptTarget);
    expect(definition.States.NoReencryptionGrant.Next).toBe(STATE.reencryptTarget);
    // Succeeded or failed, the map ends at the grant's retirement, then the summary.
    expect(map.Next).toBe('HasReencryptionGrant');
    expect(map.ResultPath).toBe('$.reencryption.mapRun');
    expect(map.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.reencryption.mapRunError', Next: 'HasReencryptionGrant' },
    ]);
    expect(definition.States.HasReencryptionGrant).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.reencryptionGrant.GrantId', IsPresent: true, Next: 'RetireReencryptionGrant' }],
      Default: STATE.summarizeReencryption,
    });
    expect(definition.States.RetireReencryptionGrant).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:kms:retireGrant',
      Next: STATE.summarizeReencryption,
      Catch: [{ ErrorEquals: ['States.ALL'], Next: 'ReencryptionGrantNotRetired' }],
    });
    // A grant RetireGrant refused goes into the state SummarizeReencryption keeps for Notify.
    expect(definition.States.ReencryptionGrantNotRetired).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.reencryption.grantNotRetired',
      Next: STATE.summarizeReencryption,
    });
    expect(definition.States[STATE.summarizeReencryption]).toMatchObject({
      Type: 'Task',
      Parameters: { 'reencryption.$': '$.reencryption', 'executionArn.$': '$$.Execution.Id' },
      ResultPath: '$.reencryption',
      Next: STATE.moreToReencrypt,
    });
  });

  test("the branch's bookkeeping failing still notifies: Plan -> ReencryptionNotPlanned -> Notify, Summarize -> Notify (branchError)", () => {
    expect(definition.States[STATE.planReencryption].Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.reencryptionPlanError', Next: 'ReencryptionNotPlanned' },
    ]);
    expect(definition.States.ReencryptionNotPlanned).toMatchObject({
      Type: 'Pass',
      ResultPath: '$.reencryption',
      Next: STATE.notify,
      Parameters: { mode: 'NONE', remaining: 0, 'branchError.$': '$.reencryptionPlanError' },
    });
    expect(definition.States[STATE.summarizeReencryption].Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.reencryption.branchError', Next: STATE.notify },
    ]);
  });

  test("reader: s3:listObjectsV2 on the current unit's bucket and prefix", () => {
    expect(map.Type).toBe('Map');
    expect(map.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:listObjectsV2',
      Parameters: { 'Bucket.$': '$.reencryption.current.bucket', 'Prefix.$': '$.reencryption.current.prefix' },
    });
    expect(map.ItemSelector).toEqual({
      'key.$': '$$.Map.Item.Value.Key',
      'size.$': '$$.Map.Item.Value.Size',
      'etag.$': '$$.Map.Item.Value.Etag',
    });
  });

  test('batcher, concurrency and failure threshold paced from reEncryptKmsRequestsPerSecond', () => {
    expect(map.ItemBatcher).toEqual({
      MaxItemsPerBatch: pacing.maxItemsPerBatch,
      BatchInput: {
        'unit.$': '$.reencryption.current',
        'grantToken.$': '$.reencryptionGrant.GrantToken',
      },
    });
    expect(map.MaxConcurrency).toBe(pacing.maxConcurrency);
    // 200 requests/s: 20 children at 10/s each.
    expect(map.MaxConcurrency).toBe(20);
    expect(map.ToleratedFailurePercentage).toBe(TOLERATED_FAILURE_PERCENTAGE);
    expect(map.ToleratedFailurePercentage).toBe(10);
    expect(map.Label).toBe(STATE.reencryptTarget);
  });

  test('processor: distributed, Express children running ReencryptObjects (payload only, under 5 minutes)', () => {
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    expect(map.ItemProcessor.StartAt).toBe(STATE.reencryptObjects);
    const child = map.ItemProcessor.States[STATE.reencryptObjects];
    expect(child).toMatchObject({
      Type: 'Task',
      End: true,
      Resource: expect.stringContaining('TasksReencryptObjects'),
    });
    // payloadResponseOnly: the function itself is the resource, no Payload wrapper.
    expect(child.Resource).not.toMatch(/states:::lambda:invoke/);
    expect(child.TimeoutSeconds).toBeLessThan(300);
    expect(child.Retry.map((r: { ErrorEquals: string[] }) => r.ErrorEquals)).toEqual([
      expect.arrayContaining(['Lambda.TooManyRequestsException', 'Lambda.ServiceException']),
    ]);
    const fn = Object.values<any>(json.Resources).find(
      (r) => r.Metadata?.['kms-incident-rotation:handler'] === 'reencrypt-objects',
    );
    expect(fn.Properties.Timeout).toBeLessThan(child.TimeoutSeconds);
    expect(fn.Properties.MemorySize).toBeGreaterThanOrEqual(1024);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(20);
    expect(fn.Properties.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(map.MaxConcurrency);
    const summarize = Object.values<any>(json.Resources).find(
      (r) => r.Metadata?.['kms-incident-rotation:handler'] === 'summarize-reencryption',
    );
    expect(summarize.Properties.ReservedConcurrentExecutions).toBe(RESERVED_CONCURRENCY['summarize-reencryption']);
  });

  test('writer: s3:putObject to the results bucket, per execution and unit', () => {
    const [bucketId] = Object.keys(template.findResources('AWS::S3::Bucket'));
    expect(map.ResultWriter).toEqual({
      Resource: 'arn:aws:states:::s3:putObject',
      Parameters: {
        Bucket: bucketId,
        'Prefix.$': "States.Format('reencryption/{}/{}', $$.Execution.Name, $.reencryption.index)",
      },
    });
  });

  test('Notify gets $.reencryption and keeps reencryptionFailed; a failed re-encryption fails the execution after KeysFailed is ruled out', () => {
    const notify = definition.States[STATE.notify];
    expect(notify.Parameters.Payload ?? notify.Parameters).toMatchObject({ 'reencryption.$': '$.reencryption' });
    expect(notify.ResultSelector.notification).toMatchObject({
      'reencryptionFailed.$': '$.reencryptionFailed',
      'anyFailed.$': '$.anyFailed',
    });
    expect(definition.States.AnyKeyFailed.Choices).toEqual([
      { Variable: '$.notification.anyFailed', BooleanEquals: true, Next: STATE.keysFailed },
      { Variable: '$.notification.reencryptionFailed', BooleanEquals: true, Next: STATE.reencryptionFailed },
    ]);
    expect(definition.States.AnyKeyFailed.Default).toBe(STATE.done);
    expect(definition.States[STATE.reencryptionFailed]).toMatchObject({
      Type: 'Fail',
      Error: 'ReencryptionFailed',
      Cause: expect.stringMatching(/stayed rotated.*notification lists what failed/),
    });
  });

  test('results bucket: the product key (SSE-KMS), no public access, SSL only, expiring, retained like the ledger', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProductKey'), 'Arn'] },
              },
              BucketKeyEnabled: true,
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [
            Match.objectLike({
              Status: 'Enabled',
              ExpirationInDays: RESULTS_EXPIRATION_DAYS,
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  const all = statements(json);
  const s3Statements = all.filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
  const listed = BUCKETS.map((b) =>
    JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${b}`]] }),
  );
  const listedObjects = BUCKETS.map((b) =>
    JSON.stringify({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${b}/*`]] }),
  );
  const resultsBucket = /ReencryptionResults/;

  test('IAM: S3 only on the listed buckets (ListBucket), their objects (/*), and the results bucket', () => {
    for (const st of s3Statements) {
      for (const r of [st.Resource].flat()) {
        const text = JSON.stringify(r);
        expect(listed.includes(text) || listedObjects.includes(text) || resultsBucket.test(text)).toBe(true);
        expect(text).not.toBe('"*"');
      }
    }
    // The machines list the listed buckets (the reader); ReencryptObjects works on their objects.
    const listing = s3Statements.filter(
      (st) => actionsOf(st).includes('s3:ListBucket') && !resultsBucket.test(JSON.stringify(st.Resource)),
    );
    expect(new Set(listing.map((st) => st.role.replace(/[0-9A-F]{8}$/, '')))).toEqual(
      new Set(['WorkflowStateMachineRole', 'ManualWorkflowStateMachineRole']),
    );
    for (const st of listing)
      expect(
        [st.Resource]
          .flat()
          .map((r) => JSON.stringify(r))
          .sort(),
      ).toEqual([...listed].sort());
    const objects = s3Statements.filter((st) => listedObjects.includes(JSON.stringify([st.Resource].flat()[0])));
    expect(objects.map((st) => st.role.replace(/[0-9A-F]{8}$/, ''))).toEqual(['TasksReencryptObjectsRole']);
    expect(actionsOf(objects[0]!).sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:GetObjectAcl',
      's3:GetObjectLegalHold',
      's3:GetObjectRetention',
      's3:GetObjectTagging',
      's3:GetObjectVersion',
      's3:GetObjectVersionAcl',
      's3:GetObjectVersionTagging',
      's3:PutObject',
      's3:PutObjectAcl',
      's3:PutObjectLegalHold',
      's3:PutObjectRetention',
      's3:PutObjectTagging',
    ]);
    expect(
      [objects[0]!.Resource]
        .flat()
        .map((r) => JSON.stringify(r))
        .sort(),
    ).toEqual([...listedObjects].sort());
  });

  test("IAM: data keys only of this account's keys in this Region, only for ReencryptObjects; the SSE-KMS path only through S3 for the listed buckets", () => {
    const dataKeys = all.filter(
      (st) => actionsOf(st).includes('kms:GenerateDataKey') && !JSON.stringify(st.Resource).includes('ProductKey'),
    );
    // The envelope path's Decrypt/GenerateDataKey come from the per-run grant, not from the role.
    expect(dataKeys.map((st) => st.Sid).sort()).toEqual(['SseKmsThroughS3ForListedBucketsOnly']);
    const regionKeys = {
      'Fn::Join': [
        '',
        ['arn:', { Ref: 'AWS::Partition' }, ':kms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':key/*'],
      ],
    };
    for (const st of dataKeys) {
      expect(st.role).toMatch(/^TasksReencryptObjectsRole/);
      expect(actionsOf(st).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(st.Resource).toEqual(regionKeys);
    }
    const sseKms = dataKeys.find((st) => st.Sid === 'SseKmsThroughS3ForListedBucketsOnly')!;
    expect(sseKms.Condition.StringEquals).toEqual({
      'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
    });
    // S3's encryption context: the object ARN, or the bucket ARN with an S3 Bucket Key.
    expect(
      sseKms.Condition.ArnLike['kms:EncryptionContext:aws:s3:arn'].map((r: unknown) => JSON.stringify(r)).sort(),
    ).toEqual([...listed, ...listedObjects].sort());
  });

  test('IAM: S3 may not use a key for ReencryptObjects with any encryption context key besides aws:s3:arn (an explicit deny)', () => {
    const deny = Object.values<any>(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) =>
        p.Properties.PolicyDocument.Statement.map((st: any) => ({ ...st, role: p.Properties.Roles[0].Ref as string })),
      )
      .filter((st) => st.Sid === 'NoSseKmsCopyWithUnknownContext');
    expect(deny).toHaveLength(1);
    expect(deny[0].role).toMatch(/^TasksReencryptObjectsRole/);
    expect(deny[0]).toMatchObject({ Effect: 'Deny', Resource: '*' });
    expect(deny[0].Condition).toEqual({
      StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      'ForAnyValue:StringNotEquals': { 'kms:EncryptionContextKeys': ['aws:s3:arn'] },
    });
  });

  test('IAM: no statement lets ReencryptObjects decrypt or make data keys with a key outside S3', () => {
    const direct = all.filter(
      (st) =>
        st.role.startsWith('TasksReencryptObjectsRole') &&
        actionsOf(st).some((a) => ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:*', '*'].includes(a)) &&
        st.Condition?.StringEquals?.['kms:ViaService'] === undefined,
    );
    expect(direct).toEqual([]);
  });

  test('IAM: no KMS action of ReencryptObjects on every key (`*`, `key/*`) without kms:ViaService', () => {
    expect(kmsOnAnyKeyWithoutViaService(json)).toEqual([]);
  });

  test('IAM: by default (reEncryptEnvelopeWrappingKeys empty) ReencryptObjects holds no kms:Encrypt at all', () => {
    const encrypting = reencryptObjectsStatements(json).filter((st) =>
      actionsOf(st).some((a) => ['kms:Encrypt', 'kms:*', '*'].includes(a)),
    );
    expect(encrypting).toEqual([]);
  });

  test('IAM: each state machine may create the grant only for ReencryptObjects, only its operations, retirable by itself', () => {
    const creating = all.filter((st) => actionsOf(st).includes('kms:CreateGrant'));
    expect(new Set(creating.map((st) => st.role.replace(/[0-9A-F]{8}$/, '')))).toEqual(
      new Set(['WorkflowStateMachineRole', 'ManualWorkflowStateMachineRole']),
    );
    for (const st of creating) {
      expect(actionsOf(st)).toEqual(['kms:CreateGrant']);
      expect(st.Condition['ForAllValues:StringEquals']).toEqual({
        'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'],
      });
      expect(st.Condition.StringEquals['kms:GranteePrincipal']).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^TasksReencryptObjectsRole/), 'Arn'],
      });
      expect(st.Condition.StringEquals['kms:RetiringPrincipal']).toEqual({ 'Fn::GetAtt': [st.role, 'Arn'] });
    }
  });

  test('IAM: the product key for the results bucket only through S3; the summary appends KEY# entries only', () => {
    const viaS3 = all.filter(
      (st) => JSON.stringify(st.Condition ?? {}).includes('"s3.') && st.Sid !== 'SseKmsThroughS3ForListedBucketsOnly',
    );
    expect(new Set(viaS3.map((st) => st.role.replace(/[0-9A-F]{8}$/, '')))).toEqual(
      new Set(['WorkflowStateMachineRole', 'ManualWorkflowStateMachineRole', 'TasksSummarizeReencryptionRole']),
    );
    for (const st of viaS3)
      expect(st.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ProductKey/), 'Arn'] });
    const summaryLedger = all.filter(
      (st) =>
        st.role.startsWith('TasksSummarizeReencryptionRole') && actionsOf(st).some((a) => a.startsWith('dynamodb:')),
    );
    expect(summaryLedger).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:PutItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['KEY#*'] } },
      }),
    ]);
  });

  test('IAM: the machines may start and stop their own child executions only', () => {
    const child = all.filter(
      (st) =>
        actionsOf(st).some((a) => /^states:(StartExecution|DescribeExecution|StopExecution)$/.test(a)) &&
        /StateMachineRole/.test(st.role),
    );
    expect(child.length).toBeGreaterThan(0);
    for (const st of child) expect(JSON.stringify(st.Resource)).toMatch(/(Manual)?WorkflowStateMachine[0-9A-F]{8}/);
  });

  test("the worst case still fits: the loop's events in the parent history, and a timeout sized for the units", () => {
    const settings = parseSettings({ reEncryptBuckets: BUCKETS });
    const without = parseSettings({});
    expect(worstCase(settings).historyEvents).toBeGreaterThan(worstCase(without).historyEvents);
    expect(worstCase(settings).historyEvents).toBeLessThan(HISTORY_EVENT_LIMIT);
    // 20 units of a million envelope objects at 100 KMS requests/s: days, within a year.
    expect(executionTimeoutSeconds(settings) - executionTimeoutSeconds(without)).toBeGreaterThanOrEqual(20 * 30_000);
    expect(executionTimeoutSeconds(settings)).toBeLessThanOrEqual(MAX_EXECUTION_SECONDS);
    expect(definition.TimeoutSeconds).toBe(
      executionTimeoutSeconds({ ...settings, reEncryptKmsRequestsPerSecond: 200 }),
    );
  });
});

describe('with reEncryptEnvelopeWrappingKeys: kms:Encrypt on exactly the listed keys', () => {
  const { json } = synth({ reEncryptBuckets: BUCKETS, reEncryptEnvelopeWrappingKeys: WRAPPING_KEYS });

  test('one statement, ReencryptObjects only, kms:Encrypt only, on the two ARNs', () => {
    const encrypting = statements(json).filter((st) =>
      actionsOf(st).some((a) => ['kms:Encrypt', 'kms:*', '*'].includes(a)),
    );
    expect(encrypting.map((st) => [st.Sid, st.role.replace(/[0-9A-F]{8}$/, '')])).toEqual([
      ['EnvelopeWrappingKeys', 'TasksReencryptObjectsRole'],
    ]);
    expect(actionsOf(encrypting[0])).toEqual(['kms:Encrypt']);
    expect(([] as unknown[]).concat(encrypting[0].Resource)).toEqual(WRAPPING_KEYS);
  });

  test('still no KMS action of ReencryptObjects on every key without kms:ViaService', () => {
    expect(kmsOnAnyKeyWithoutViaService(json)).toEqual([]);
  });
});

describe('without reEncryptBuckets: no branch, no extra IAM', () => {
  const { template, json, definition } = synth({});

  test('PlanReencryption still runs (it refuses every target) and goes straight to Notify', () => {
    expect(definition.States[STATE.planReencryption]).toMatchObject({
      Type: 'Task',
      ResultPath: '$.reencryption',
      Next: STATE.notify,
    });
    expect(definition.States[STATE.planReencryption].Parameters.settings).toEqual({
      buckets: [],
      targets: {},
    });
    for (const name of [STATE.moreToReencrypt, STATE.reencryptTarget, STATE.summarizeReencryption])
      expect(definition.States[name]).toBeUndefined();
    expect(JSON.stringify(definition)).not.toContain('DISTRIBUTED');
  });

  test('no results bucket, no branch functions, no S3 or data-key rights, no child executions', () => {
    template.resourceCountIs('AWS::S3::Bucket', 0);
    const handlers = Object.values<any>(json.Resources)
      .map((r) => r.Metadata?.['kms-incident-rotation:handler'])
      .filter(Boolean);
    expect(handlers).toContain('plan-reencryption');
    expect(handlers).not.toContain('reencrypt-objects');
    expect(handlers).not.toContain('summarize-reencryption');
    const all = statements(json);
    expect(all.filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')))).toEqual([]);
    expect(
      all.filter((st) =>
        actionsOf(st).some((a) => /^states:(DescribeExecution|StopExecution|RedriveExecution)$/.test(a)),
      ),
    ).toEqual([]);
    expect(JSON.stringify(all)).not.toContain('"s3.');
    // PlanReencryption's role: logs and tracing only (it calls no AWS API).
    const plan = all.filter((st) => st.role.startsWith('TasksPlanReencryptionRole'));
    expect(plan.flatMap(actionsOf).every((a) => /^(logs|xray):/.test(a))).toBe(true);
  });
});

describe('settings validation', () => {
  test('defaults: no buckets, no targets, report-only finding runs, 100 KMS requests/s', () => {
    expect(parseSettings({})).toMatchObject({
      reEncryptBuckets: [],
      reEncryptTargets: {},
      autoReEncrypt: false,
      reEncryptKmsRequestsPerSecond: 100,
      reEncryptEnvelopeWrappingKeys: [],
    });
    // Any Region and account (DR keys live elsewhere), multi-Region keys too.
    expect(parseSettings({ reEncryptEnvelopeWrappingKeys: WRAPPING_KEYS }).reEncryptEnvelopeWrappingKeys).toEqual(
      WRAPPING_KEYS,
    );
    expect(
      parseSettings({
        reEncryptBuckets: ['orders-data'],
        reEncryptTargets: { [KEY]: [{ type: 's3-sse-kms', bucket: 'orders-data' }] },
      }).reEncryptTargets[KEY],
    ).toEqual([{ type: 's3-sse-kms', bucket: 'orders-data', prefix: '' }]);
  });

  test('a target outside reEncryptBuckets is refused at synth, naming it', () => {
    const bad = {
      reEncryptBuckets: ['orders-data'],
      reEncryptTargets: { 'alias/orders': [{ type: 'envelope', bucket: 'other-bucket' }] },
    };
    expect(() => parseSettings(bad)).toThrow(SettingsError);
    expect(() => parseSettings(bad)).toThrow(
      /reEncryptTargets\.alias\/orders\.0\.bucket: bucket 'other-bucket' is not in reEncryptBuckets \(orders-data\)/,
    );
    expect(() =>
      parseSettings({ reEncryptTargets: { 'alias/orders': [{ type: 'envelope', bucket: 'orders-data' }] } }),
    ).toThrow(/'orders-data' is not in reEncryptBuckets \(empty\)/);
  });

  test.each([
    [{ reEncryptBuckets: ['Not_A_Bucket'] }, /reEncryptBuckets\.0: an S3 bucket name/],
    [
      {
        reEncryptBuckets: ['orders-data'],
        reEncryptTargets: { 'key/abc': [{ type: 'envelope', bucket: 'orders-data' }] },
      },
      /reEncryptTargets\.key\/abc: .*key ARN .* or an alias name/,
    ],
    [
      { reEncryptBuckets: ['orders-data'], reEncryptTargets: { 'alias/x': [{ type: 'tape', bucket: 'orders-data' }] } },
      /reEncryptTargets\.alias\/x\.0\.type/,
    ],
    [
      {
        reEncryptBuckets: ['orders-data'],
        reEncryptTargets: { 'alias/x': [{ type: 'envelope', bucket: 'orders-data', extra: 1 }] },
      },
      /reEncryptTargets\.alias\/x\.0.*extra/,
    ],
    [{ autoReEncrypt: 'yes' }, /autoReEncrypt: .*boolean/],
    [{ reEncryptEnvelopeWrappingKeys: ['alias/dr'] }, /reEncryptEnvelopeWrappingKeys\.0: a KMS key ARN/],
    [
      { reEncryptEnvelopeWrappingKeys: ['arn:aws:kms:us-west-2:111122223333:alias/dr'] },
      /reEncryptEnvelopeWrappingKeys\.0: a KMS key ARN/,
    ],
    [
      { reEncryptEnvelopeWrappingKeys: ['arn:aws:kms:us-west-2:111122223333:key/*'] },
      /reEncryptEnvelopeWrappingKeys\.0: a KMS key ARN/,
    ],
    [
      { reEncryptEnvelopeWrappingKeys: ['arn:aws:kms:*:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321'] },
      /reEncryptEnvelopeWrappingKeys\.0: a KMS key ARN/,
    ],
    [{ reEncryptKmsRequestsPerSecond: 0 }, /reEncryptKmsRequestsPerSecond: /],
    [{ reEncryptKmsRequestsPerSecond: 100_000 }, /reEncryptKmsRequestsPerSecond: /],
  ])('%j is refused, naming the field', (raw, message) => {
    expect(() => parseSettings(raw)).toThrow(message);
  });

  test('a rate too low for the sized targets to finish within a year is refused, naming the setting', () => {
    expect(() => parseSettings({ reEncryptBuckets: ['orders-data'], reEncryptKmsRequestsPerSecond: 1 })).toThrow(
      /reEncryptKmsRequestsPerSecond: reEncryptKmsRequestsPerSecond 1 re-encrypts 20 targets/,
    );
    // Without the branch the rate changes nothing.
    expect(parseSettings({ reEncryptKmsRequestsPerSecond: 1 }).reEncryptKmsRequestsPerSecond).toBe(1);
  });
});
