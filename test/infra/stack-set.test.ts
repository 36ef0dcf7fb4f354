/**
 * "One flat stack, StackSets-ready": no nested stacks, no custom resources, and the
 * StackSet form (`-c stackSetAssetsBucket=...`) has nothing a member account without a CDK
 * bootstrap would miss: no BootstrapVersion parameter or rule, no bootstrap bucket or role, no
 * account or Region written in; the Lambda code in the given per-Region bucket.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { productStack } from '../../lib/app';
import { SettingsError } from '../../lib/settings/settings';

type Template = {
  Parameters?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: any }>;
};

function synth(context: Record<string, unknown>) {
  const outdir = mkdtempSync(path.join(tmpdir(), 'kms-rotation-cdkout-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = productStack(app);
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const assets = JSON.parse(readFileSync(path.join(outdir, `${stack.stackName}.assets.json`), 'utf8')) as {
    files: Record<string, { destinations: Record<string, Record<string, string>> }>;
  };
  return { template: artifact.template as Template, assets };
}

const ACCOUNT = '111122223333';
const BUCKET = 'my-org-assets-${AWS::Region}';

describe('the StackSet form', () => {
  const before = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  let out: ReturnType<typeof synth>;
  beforeAll(() => {
    // As under `cdk synth` with credentials: the StackSet form must still leave them out.
    process.env.CDK_DEFAULT_ACCOUNT = ACCOUNT;
    process.env.CDK_DEFAULT_REGION = 'eu-west-1';
    out = synth({ stackSetAssetsBucket: BUCKET });
  });
  afterAll(() => {
    for (const [k, v] of [
      ['CDK_DEFAULT_ACCOUNT', before.account],
      ['CDK_DEFAULT_REGION', before.region],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('no parameter and no rule (the BootstrapVersion SSM parameter does not exist in member accounts)', () => {
    expect(out.template.Parameters ?? {}).toEqual({});
    expect(out.template.Rules ?? {}).toEqual({});
    expect(JSON.stringify(out.template)).not.toMatch(/\{\{resolve:ssm|cdk-bootstrap|Fn::ImportValue/);
  });

  test('no reference to the CDK bootstrap (bucket, roles) and no account or Region written in', () => {
    const text = JSON.stringify(out.template);
    expect(text).not.toMatch(/hnb659fds|cdk-bootstrap/);
    expect(text).not.toContain(ACCOUNT);
    expect(text).not.toContain('eu-west-1');
  });

  test("every function's code is in the per-Region bucket given, under the prefix", () => {
    const functions = Object.values(out.template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const fn of functions) {
      expect(fn.Properties.Code).toEqual({
        S3Bucket: { 'Fn::Sub': BUCKET },
        S3Key: expect.stringMatching(/^kms-incident-rotation\/[0-9a-f]{64}\.zip$/),
      });
    }
  });

  test("the asset manifest publishes to that bucket with the caller's credentials (no bootstrap publishing role)", () => {
    const destinations = Object.values(out.assets.files).flatMap((f) => Object.values(f.destinations));
    expect(destinations.length).toBeGreaterThan(10);
    for (const d of destinations) {
      expect(d.bucketName).toBe(BUCKET);
      expect(d.assumeRoleArn).toBeUndefined();
    }
  });

  test('one flat template: no nested stacks, no custom resources', () => {
    const types = Object.values(out.template.Resources).map((r) => r.Type);
    expect(
      types.filter(
        (t) =>
          t === 'AWS::CloudFormation::Stack' || t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource',
      ),
    ).toEqual([]);
    // CloudFormation limits a template to 500 resources (StackSets too).
    expect(types.length).toBeLessThan(500);
  });
});

test('the normal form is flat too, and keeps the bootstrap (cdk deploy)', () => {
  const { template } = synth({});
  const types = Object.values(template.Resources).map((r) => r.Type);
  expect(
    types.filter(
      (t) =>
        t === 'AWS::CloudFormation::Stack' || t.startsWith('Custom::') || t === 'AWS::CloudFormation::CustomResource',
    ),
  ).toEqual([]);
  expect(Object.keys(template.Parameters ?? {})).toEqual(['BootstrapVersion']);
});

test.each([
  [{ stackSetAssetsBucket: 'my-org-assets' }, /stackSetAssetsBucket: a bucket name with \$\{AWS::Region\} in it/],
  [
    { stackSetAssetsBucket: BUCKET, stackSetAssetsPrefix: 'no-slash' },
    /stackSetAssetsPrefix: a key prefix ending in \//,
  ],
])('a bad StackSet context %j is refused naming the key', (context, message) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  expect(() => productStack(app)).toThrow(SettingsError);
  expect(() => productStack(new App({ context }))).toThrow(message);
});
