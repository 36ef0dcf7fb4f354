/**
 * The rights of confirming findings and closing the Security Hub loop, from the synthesized
 * template: read rights only for Intake, scoped to this account and Region and to the sources
 * whose rule exists; BatchUpdateFindings only for ClaimRequest and Notify, only on this hub, and
 * not at all with securityHubWorkflowUpdates off.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { HANDLER_METADATA_KEY } from '../../lib/functions';

const env = { account: '111122223333', region: 'us-east-1' };
type Resources = Record<string, { Type: string; Properties: any; Metadata?: Record<string, string> }>;

function resources(settings: Record<string, unknown> = {}): Resources {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', { settings: parseSettings(settings), env });
  return (Template.fromStack(stack).toJSON() as { Resources: Resources }).Resources;
}

/** Every Allow statement naming one of `actions`, with the handler whose role holds it. */
function statementsFor(res: Resources, actions: RegExp): { handler: string; action: string[]; resource: unknown }[] {
  const roleToHandler = new Map<string, string>();
  for (const r of Object.values(res)) {
    const handler = r.Metadata?.[HANDLER_METADATA_KEY];
    if (r.Type === 'AWS::Lambda::Function' && handler) roleToHandler.set(r.Properties.Role['Fn::GetAtt'][0], handler);
  }
  const out: { handler: string; action: string[]; resource: unknown }[] = [];
  for (const r of Object.values(res)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties.Roles as { Ref: string }[]).map((x) => roleToHandler.get(x.Ref) ?? x.Ref);
    for (const st of r.Properties.PolicyDocument.Statement) {
      const action = ([] as string[]).concat(st.Action);
      if (st.Effect === 'Allow' && action.some((a) => actions.test(a)))
        for (const handler of roles) out.push({ handler, action, resource: st.Resource });
    }
  }
  return out;
}

// This account and Region: the stack's own pseudo parameters (the stack is deployed per account and Region).
const arnIn = (service: string, resource: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:${resource}`,
    ],
  ],
});

describe('finding sources: rights', () => {
  test('Intake alone reads findings, each source on its own resource in this account and Region', () => {
    const found = statementsFor(resources(), /^(guardduty|securityhub|access-analyzer):Get/);
    expect(found).toEqual([
      { handler: 'intake', action: ['guardduty:GetFindings'], resource: arnIn('guardduty', 'detector/*') },
      { handler: 'intake', action: ['securityhub:GetFindings'], resource: arnIn('securityhub', 'hub/default') },
      { handler: 'intake', action: ['access-analyzer:GetFinding'], resource: arnIn('access-analyzer', 'analyzer/*') },
    ]);
  });

  test('a disabled source gets no read right', () => {
    const found = statementsFor(
      resources({ enableGuardDuty: false, enableAccessAnalyzer: false }),
      /^(guardduty|access-analyzer):/,
    );
    expect(found).toEqual([]);
  });

  test('BatchUpdateFindings: only ClaimRequest and Notify, only this hub; none with the setting off or Security Hub disabled', () => {
    const found = statementsFor(resources(), /^securityhub:BatchUpdateFindings$/);
    expect(found.map((f) => f.handler).sort()).toEqual(['claim-request', 'notify']);
    for (const f of found)
      expect(f).toMatchObject({
        action: ['securityhub:BatchUpdateFindings'],
        resource: arnIn('securityhub', 'hub/default'),
      });
    expect(
      statementsFor(resources({ securityHubWorkflowUpdates: false }), /^securityhub:BatchUpdateFindings$/),
    ).toEqual([]);
    expect(statementsFor(resources({ enableSecurityHub: false }), /^securityhub:/)).toEqual([]);
  });
});
