/**
 * "Add to your CDK app": KmsIncidentRotation in a team's own app, with typed props
 * validated like cdk.json context (errors name the prop), and the rules for more than one.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotation, KmsIncidentRotationStack, SettingsError } from '../../lib/index';
import { parseSettings } from '../../lib/settings/settings';

const env = { account: '111122223333', region: 'us-east-1' };
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

test("in a fresh app, in the team's own stack, with typed props", () => {
  // Given
  const stack = new Stack(newApp(), 'TeamStack', { env });

  // When
  const rotation = new KmsIncidentRotation(stack, 'Rotation', {
    notificationEmails: ['oncall@example.com'],
    automaticReserve: 5,
    approvalTimeoutMinutes: 30,
  });

  // Then
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
  t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  const low = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(([id]) =>
    id.startsWith('RotationObservabilityRotationsRemainingLow'),
  );
  expect(low?.[1].Properties.Threshold).toBe(5);
  // Defaults filled in, the given ones kept.
  expect(rotation.settings).toEqual(
    parseSettings({ notificationEmails: ['oncall@example.com'], automaticReserve: 5, approvalTimeoutMinutes: 30 }),
  );
  // Outputs under the construct's id (the wrapper stack's 'Default' id keeps the plain names).
  expect(Object.keys(t.findOutputs('*')).some((id) => id.startsWith('RotationStateMachineArn'))).toBe(true);
});

test.each([
  [{ rotationBudget: 0 }, 'rotationBudget'],
  [{ automaticReserve: 30 }, 'automaticReserve: automaticReserve must be smaller than rotationBudget'],
  [{ notificationEmails: ['not-an-address'] }, 'notificationEmails.0'],
  [{ rotationBudgett: 3 }, 'rotationBudgett: unknown setting'],
])('a bad prop %j fails at synth, naming the construct and the prop', (props, named) => {
  const stack = new Stack(newApp(), 'TeamStack', { env });
  const create = () => new KmsIncidentRotation(stack, 'Rotation', props as never);
  expect(create).toThrow(SettingsError);
  expect(create).toThrow(/the props of KmsIncidentRotation 'TeamStack\/Rotation'/);
  expect(create).toThrow(named);
});

test('two stacks of one app, each with the construct, synthesize, and set no physical name twice', () => {
  const app = newApp();
  const stacks = ['eu-west-1', 'us-east-1'].map((region) => {
    const stack = new Stack(app, `Rotation-${region}`, { env: { account: env.account, region } });
    new KmsIncidentRotation(stack, 'Rotation');
    return stack;
  });
  const assembly = app.synth();
  expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(['Rotation-eu-west-1', 'Rotation-us-east-1']);
  // Explicit names (CloudFormation names everything else from the stack name): none shared.
  const namesOf = (stack: Stack) =>
    Object.values(
      Template.fromStack(stack).toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>,
    ).flatMap((r) =>
      Object.entries(r.Properties ?? {})
        .filter(
          ([k, v]) =>
            /^(StateMachineName|TableName|TopicName|DashboardName|BackupVaultName|BackupPlanName|RoleName|FunctionName|LogGroupName|QueueName)$/.test(
              k,
            ) && typeof v === 'string',
        )
        .map(([, v]) => v as string),
    );
  const [a, b] = stacks.map(namesOf);
  expect(a!.filter((n) => b!.includes(n))).toEqual([]);
});

test('two in one stack fail with a clear error (both would act on every finding)', () => {
  const stack = new Stack(newApp(), 'TeamStack', { env });
  new KmsIncidentRotation(stack, 'First');
  expect(() => new KmsIncidentRotation(stack, 'Second')).toThrow(
    /stack 'TeamStack' already holds one \('TeamStack\/First'\).*one stack per account and Region/,
  );
});

test("the product's own stack is the construct under the id Default: logical ids as before", () => {
  const t = Template.fromStack(
    new KmsIncidentRotationStack(newApp(), 'KmsIncidentRotation', { settings: parseSettings({}), env }),
  );
  const ids = Object.keys(t.toJSON().Resources);
  for (const prefix of [
    'ProductKey',
    'Notifications',
    'LedgerTable',
    'WorkflowStateMachine',
    'ManualWorkflowStateMachine',
    'TasksRotate',
    'FrontDoorApi',
    'ObservabilityDashboard',
  ]) {
    expect(ids.some((id) => id.startsWith(prefix))).toBe(true);
  }
  expect(Object.keys(t.findOutputs('*'))).toEqual(
    expect.arrayContaining([
      'StateMachineArn',
      'ManualStateMachineArn',
      'AutomaticStateMachineArn',
      'Settings',
      'DashboardUrl',
    ]),
  );
});
