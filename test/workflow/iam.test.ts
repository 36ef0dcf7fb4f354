/**
 * IAM offline, end to end: the workflow runs with each function's role from the synthesized
 * template, so a permission missing from a role (or a key policy that does not delegate to the
 * account) fails the run as it would in AWS.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openSimulation, type Simulation } from '../../local/simulate';
import type { CfnTemplate } from '../../local/template';
import { parseWorld } from '../../local/world';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
const SPEED = 100;

const guardDuty = (id: string) => {
  const event = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/guardduty/s3-bucket-kms.json'), 'utf8'));
  event.detail.id = id;
  return event;
};
const world = (key: Record<string, unknown> = {}) =>
  parseWorld(
    {
      account: ACCOUNT,
      region: REGION,
      keys: [{ id: KEY_ID, aliases: ['alias/orders'], rotationSeconds: 20, ...key }],
    },
    'iam world',
  );

type Statement = { Effect: string; Action: string | string[]; Resource?: unknown };

/** The template with `action` taken out of every Allow of the policies attached to the role whose logical id starts with `rolePrefix`. */
function withoutPermission(rolePrefix: string, action: string) {
  return (template: CfnTemplate): CfnTemplate => {
    let removed = 0;
    for (const r of Object.values(template.Resources)) {
      const roles = (r.Properties?.Roles ?? []) as { Ref?: string }[];
      if (r.Type !== 'AWS::IAM::Policy' || !roles.some((x) => x.Ref?.startsWith(rolePrefix))) continue;
      const statements = r.Properties.PolicyDocument.Statement as Statement[];
      for (const st of statements) {
        if (st.Effect !== 'Allow') continue;
        const actions = Array.isArray(st.Action) ? st.Action : [st.Action];
        if (actions.includes(action)) removed += 1;
        st.Action = actions.filter((a) => a !== action);
      }
      r.Properties.PolicyDocument.Statement = statements.filter((st) => (st.Action as string[]).length > 0);
    }
    if (removed === 0) throw new Error(`test setup: ${action} is not granted to ${rolePrefix}`);
    return template;
  };
}

describe('IAM in the offline workflow', () => {
  let sim: Simulation | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  test('every request is signed by the role of the function that made it', async () => {
    // Given
    sim = await openSimulation({ world: world(), speed: SPEED });
    const roleOf = (handler: string) => sim!.iam.principals.functionRole(handler).arn;

    // When
    const run = await sim.run(guardDuty('iam-attribution-1'));

    // Then
    expect(run.result.keys).toEqual([expect.objectContaining({ keyArn: KEY, outcome: 'ROTATED' })]);
    const callers = new Set(run.calls.map((c) => c.caller));
    const functionRoles = new Set(
      sim.iam.principals
        .all()
        .filter((p) => p.kind === 'function')
        .map((p) => p.arn),
    );
    expect([...callers].every((c) => c !== undefined && functionRoles.has(c))).toBe(true);
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand').map((c) => c.caller)).toEqual([
      roleOf('rotate'),
    ]);
    expect(new Set(run.calls.filter((c) => c.operation === 'Publish').map((c) => c.caller))).toEqual(
      new Set([roleOf('notify')]),
    );
  });

  test('kms:RotateKeyOnDemand removed from the Rotate role: FAILED ACCESS_DENIED naming the action, no rotation', async () => {
    // Given
    sim = await openSimulation({
      world: world(),
      speed: SPEED,
      editTemplate: withoutPermission('TasksRotateRole', 'kms:RotateKeyOnDemand'),
    });

    // When
    const run = await sim.run(guardDuty('iam-no-rotate-1'));

    // Then
    expect(run.result.keys).toEqual([
      expect.objectContaining({ keyArn: KEY, outcome: 'FAILED', reason: 'ACCESS_DENIED' }),
    ]);
    expect(run.result.keys[0].detail).toContain('kms:RotateKeyOnDemand');
    const refused = run.calls.filter((c) => c.operation === 'RotateKeyOnDemand');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((c) => c.error === 'AccessDeniedException')).toBe(true);
  });

  test('a key policy that does not delegate to the account: Assess fails ACCESS_DENIED', async () => {
    // Given
    const keyPolicy = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/KeyAdmins` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    };
    sim = await openSimulation({ world: world({ policy: keyPolicy }), speed: SPEED });

    // When
    const run = await sim.run(guardDuty('iam-key-policy-1'));

    // Then
    expect(run.result.keys).toEqual([
      expect.objectContaining({ keyArn: KEY, outcome: 'FAILED', reason: 'ACCESS_DENIED' }),
    ]);
    expect(run.result.keys[0].detail).toMatch(
      /kms:DescribeKey|kms:ListResourceTags|kms:GetKeyRotationStatus|kms:ListKeyRotations/,
    );
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
  });

  test('the state machine role without lambda:InvokeFunction on Rotate: the task fails, nothing rotates', async () => {
    // Given
    sim = await openSimulation({
      world: world(),
      speed: SPEED,
      editTemplate: (template) => {
        const rotateArn = Object.keys(template.Resources).find((id) => /^TasksRotate[0-9A-F]{8}$/.test(id))!;
        for (const r of Object.values(template.Resources)) {
          const roles = (r.Properties?.Roles ?? []) as { Ref?: string }[];
          if (r.Type !== 'AWS::IAM::Policy' || !roles.some((x) => x.Ref?.startsWith('WorkflowStateMachineRole')))
            continue;
          r.Properties.PolicyDocument.Statement = (
            r.Properties.PolicyDocument.Statement as { Resource?: unknown }[]
          ).filter((st) => !JSON.stringify(st.Resource ?? '').includes(rotateArn));
        }
        return template;
      },
    });

    // When
    const run = await sim.run(guardDuty('iam-no-invoke-1'));

    // Then
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
    expect(
      run.events.some(
        (e) => e.Error === 'Lambda.AWSLambdaException' && String(e.Cause).includes('lambda:InvokeFunction'),
      ),
    ).toBe(true);
    expect(run.result.keys[0]).toMatchObject({ keyArn: KEY });
    expect(run.result.keys[0].outcome).not.toBe('ROTATED');
  });

  test("a finding starts the workflow only through the EventBridge rule's role: without states:StartExecution nothing runs", async () => {
    // Given
    sim = await openSimulation({
      world: world(),
      speed: SPEED,
      editTemplate: withoutPermission('WorkflowStateMachineEventsRole', 'states:StartExecution'),
    });

    // When / Then
    await expect(sim.run(guardDuty('iam-no-events-start-1'))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(
        /assumed-role\/WorkflowStateMachineEventsRole\w*\/events-target is not authorized to perform: states:StartExecution/,
      ),
    });
    expect(sim.standIn.calls.filter((c) => c.service === 'kms')).toHaveLength(0);
  });

  test('an on-call person cannot start the automatic workflow directly (a hand-made finding)', async () => {
    // Given
    sim = await openSimulation({ world: world(), speed: SPEED });

    // When / Then
    await expect(sim.run(guardDuty('iam-direct-start-1'), { as: 'alice' })).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringMatching(/alice is not authorized to perform: states:StartExecution/),
    });
    expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
  });

  test('the front door without states:StartExecution on the manual machine: a manual request starts nothing', async () => {
    // Given
    sim = await openSimulation({
      world: world(),
      speed: SPEED,
      editTemplate: withoutPermission('FrontDoorFunctionRole', 'states:StartExecution'),
    });

    // When / Then
    await expect(sim.run({ keyId: KEY, reason: 'INC-iam' })).rejects.toMatchObject({ name: 'FrontDoorRefusal' });
    expect(sim.standIn.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(0);
  });

  test('the topic is encrypted with the product key: Notify without kms:GenerateDataKey on it cannot publish (KMSAccessDenied)', async () => {
    // Given
    sim = await openSimulation({
      world: world(),
      speed: SPEED,
      editTemplate: withoutPermission('TasksNotifyRole', 'kms:GenerateDataKey'),
    });

    // When
    const run = await sim.run(guardDuty('iam-no-topic-key-1'));

    // Then: the key rotated, but no message went out, and SNS said why.
    expect(run.calls.filter((c) => c.operation === 'RotateKeyOnDemand')).toHaveLength(1);
    const publishes = run.calls.filter((c) => c.operation === 'Publish');
    expect(publishes.length).toBeGreaterThan(0);
    expect(publishes.every((c) => c.error === 'KMSAccessDenied')).toBe(true);
    expect(run.result.notifications).toEqual([]);
  });

  test('the results bucket is under the product key: result files are written with it, and the state machine role needs its data keys through S3', async () => {
    // Given: a bucket to re-encrypt, the branch on.
    const w = parseWorld(
      {
        account: ACCOUNT,
        region: REGION,
        keys: [{ id: KEY_ID, rotationSeconds: 5 }],
        buckets: [{ name: 'orders-data', objects: [{ key: 'a.json', body: '{}', kmsKeyId: KEY_ID }] }],
        settings: { reEncryptBuckets: ['orders-data'] },
      },
      'results world',
    );
    const request = {
      keyId: KEY,
      reason: 'INC-results',
      reEncrypt: { targets: [{ type: 's3-sse-kms', bucket: 'orders-data' }] },
    };
    const productKey = `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-4000-8000-${ACCOUNT}`;
    sim = await openSimulation({ world: w, speed: SPEED });

    // When
    const run = await sim.run(request);

    // Then: the run's result files are SSE-KMS under the product key, and S3 asked KMS for it.
    expect(run.result.executionStatus).toBe('SUCCEEDED');
    const writes = run.calls.filter(
      (c) =>
        c.service === 's3' &&
        c.operation === 'PutObject' &&
        (c.input as { Bucket: string }).Bucket.startsWith('kms-incident-rotation-results-'),
    );
    expect(writes.length).toBeGreaterThan(0);
    const written = writes.map((c) =>
      sim!.standIn.s3Object((c.input as { Bucket: string }).Bucket, String((c.input as { Key: string }).Key)),
    );
    expect(written.every((o) => o?.kmsKeyArn === productKey)).toBe(true);
    await sim.close();

    // Without kms:GenerateDataKey on the product key, the state machine's ResultWriter cannot write.
    sim = await openSimulation({
      world: w,
      speed: SPEED,
      editTemplate: withoutPermission('ManualWorkflowStateMachineRole', 'kms:GenerateDataKey'),
    });
    const denied = await sim.run(request);
    expect(
      denied.calls.some((c) => c.service === 's3' && c.operation === 'PutObject' && c.error === 'AccessDenied'),
    ).toBe(true);
    expect(denied.result.executionStatus).toBe('FAILED');
  });
});
