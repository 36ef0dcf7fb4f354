/**
 * No role holds an action its handler never calls: each function's AWS actions are derived from
 * its code (the TypeScript call graph from lambdas/<name>/handler.ts: every project function or
 * method it can reach, every method of a class it hands over as an interface, and each
 * `new <Name>Command` / `paginate<Name>` of @aws-sdk/client-<svc> in them) and compared with the
 * Allow statements of its role in the synthesized template.
 */
import { GRANT_OPERATIONS } from '../../lib/reencryption/reencryption-grant';
import * as path from 'node:path';
import { drillKeyPolicy } from '../../lambdas/domain/drill';
import * as ts from 'typescript';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { KmsIncidentRotationStack } from '../../lib/stack';
import { parseSettings } from '../../lib/settings/settings';
import { HANDLER_METADATA_KEY } from '../../lib/functions';
import { COMPONENT_METADATA_KEY } from '../../lib/people/front-door';

const ROOT = path.join(__dirname, '..', '..');
/** The IAM service prefix of each SDK client package. */
const SERVICE: Record<string, string> = {
  kms: 'kms',
  dynamodb: 'dynamodb',
  sns: 'sns',
  sfn: 'states',
  lambda: 'lambda',
  s3: 's3',
  accessanalyzer: 'access-analyzer',
};
/** Actions IAM requires beyond the call itself (CreateKey with Tags also needs kms:TagResource). */
const IMPLIED: Record<string, string[]> = { 'kms:CreateKey': ['kms:TagResource'] };
/**
 * S3 API calls authorized by other IAM actions (the S3 authorization reference): HeadObject is
 * s3:GetObject, a copy reads the source and writes the target, multipart uploads are s3:PutObject,
 * ListObjectsV2 is s3:ListBucket, ListObjectVersions is s3:ListBucketVersions.
 */
const S3_ACTIONS: Record<string, string[]> = {
  HeadObject: ['s3:GetObject'],
  GetObject: ['s3:GetObject'],
  PutObject: ['s3:PutObject'],
  CopyObject: ['s3:GetObject', 's3:PutObject'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPartCopy: ['s3:GetObject', 's3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
  ListObjectsV2: ['s3:ListBucket'],
  ListObjectVersions: ['s3:ListBucketVersions'],
};
/**
 * What the arguments of an S3 call (matched as `<Command> <arguments>`) add: a version read, copied
 * tags, a version's tags; attributes kept from a read (object-attributes.ts) include Object Lock
 * retention and legal hold, which HEAD/GET answer only with the Get rights and a write sets only
 * with the Put rights (S3 User Guide, "Object Lock considerations").
 */
const S3_ARGUMENT_ACTIONS: [RegExp, string[]][] = [
  [/\bVersionId\b/, ['s3:GetObjectVersion']],
  [/\bTaggingDirective\b/, ['s3:GetObjectTagging', 's3:PutObjectTagging']],
  [/^GetObjectTagging\b[\s\S]*\bVersionId\b/, ['s3:GetObjectVersionTagging']],
  [/\bkeptFromRead\b/, ['s3:GetObjectRetention', 's3:GetObjectLegalHold']],
  [/\bwriteAttributes\b/, ['s3:PutObjectRetention', 's3:PutObjectLegalHold']],
  [/^GetObjectAcl\b[\s\S]*\bVersionId\b/, ['s3:GetObjectVersionAcl']],
  [/\bgrantParameters\b/, ['s3:PutObjectAcl']],
];
/**
 * The Encryption SDK's KMS keyring calls KMS from inside node_modules (not followed): encrypting
 * makes a data key, decrypting decrypts one, and a keyring with further keys wraps the data key for
 * each (Encrypt). S3's SSE-KMS copies need the first two on the key.
 */
const KEYRING_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:Encrypt'];

function sdkServiceOf(decl: ts.Declaration): string | null {
  const file = decl.getSourceFile().fileName;
  const m = /@aws-sdk\/client-([a-z0-9-]+)\//.exec(file);
  return m ? (SERVICE[m[1]] ?? m[1]) : null;
}

/** The AWS actions the code reachable from `entry` can send. */
function actionsOf(program: ts.Program, entry: string): Set<string> {
  const checker = program.getTypeChecker();
  const actions = new Set<string>();
  const seen = new Set<ts.Node>();
  const queue: ts.Node[] = [program.getSourceFile(entry)!];
  const resolve = (node: ts.Node): ts.Symbol | undefined => {
    const symbol = checker.getSymbolAtLocation(node);
    return symbol && symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  };
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const symbol = resolve(node);
      for (const decl of symbol?.declarations ?? []) {
        const service = sdkServiceOf(decl);
        const name = symbol!.getName();
        if (
          name === 'KmsKeyringNode' &&
          decl.getSourceFile().fileName.includes('@aws-crypto') &&
          ts.isNewExpression(node.parent)
        ) {
          for (const a of KEYRING_ACTIONS) actions.add(a);
          continue;
        }
        if (service) {
          const command = /^(\w+)Command$/.exec(name);
          const paginator = /^paginate(\w+)$/.exec(name);
          // Only a command that is constructed (new X) or a paginator that is called counts.
          if (command && service === 's3' && ts.isNewExpression(node.parent) && node.parent.expression === node) {
            const args = node.parent.arguments?.map((a) => a.getText()).join(' ') ?? '';
            for (const a of S3_ACTIONS[command[1]!] ?? [`s3:${command[1]}`]) actions.add(a);
            for (const [pattern, more] of S3_ARGUMENT_ACTIONS)
              if (pattern.test(`${command[1]} ${args}`)) for (const a of more) actions.add(a);
            continue;
          }
          if (command && ts.isNewExpression(node.parent) && node.parent.expression === node)
            actions.add(`${service}:${command[1]}`);
          if (paginator && ts.isCallExpression(node.parent) && node.parent.expression === node)
            actions.add(`${service}:${paginator[1]}`);
          continue;
        }
        const file = decl.getSourceFile().fileName;
        if (file.includes('node_modules') || !file.startsWith(path.join(ROOT, 'lambdas')) || seen.has(decl)) continue;
        // A reachable function, method, constructor or initialised variable: scan its body.
        if (ts.isFunctionLike(decl) || ts.isVariableDeclaration(decl) || ts.isPropertyDeclaration(decl)) {
          seen.add(decl);
          queue.push(decl);
        } else if (ts.isClassDeclaration(decl) && ts.isNewExpression(node.parent)) {
          seen.add(decl);
          // An instance handed over as an interface (`implements`) is called through it: all its
          // methods count. Other classes count method by method, as they are called.
          const viaInterface = decl.heritageClauses?.some((h) => h.token === ts.SyntaxKind.ImplementsKeyword) === true;
          for (const member of decl.members) {
            if (
              ts.isConstructorDeclaration(member) ||
              ts.isPropertyDeclaration(member) ||
              (viaInterface && ts.isMethodDeclaration(member))
            )
              queue.push(member);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  while (queue.length) visit(queue.shift()!);
  for (const action of [...actions]) for (const more of IMPLIED[action] ?? []) actions.add(more);
  return actions;
}

describe("least privilege, derived from the handlers' code", () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  // With the re-encryption branch, so that its two functions are covered too, and an envelope
  // wrapping key listed (without one the role holds no kms:Encrypt: every multi-key envelope is skipped).
  const stack = new KmsIncidentRotationStack(app, 'KmsIncidentRotation', {
    settings: parseSettings({
      reEncryptBuckets: ['orders-data'],
      reEncryptEnvelopeWrappingKeys: ['arn:aws:kms:us-west-2:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321'],
    }),
    env: { account: '111122223333', region: 'us-east-1' },
  });
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: any; Metadata?: Record<string, string> }>;
  };
  const resources = Object.entries(template.Resources);

  const functions = resources.flatMap(([, r]) => {
    const handler = r.Metadata?.[HANDLER_METADATA_KEY] ?? r.Metadata?.[COMPONENT_METADATA_KEY];
    return r.Type === 'AWS::Lambda::Function' && handler
      ? [{ handler, role: r.Properties.Role['Fn::GetAtt'][0] as string }]
      : [];
  });
  const entries = functions.map((f) => path.join(ROOT, 'lambdas', f.handler, 'handler.ts'));
  const program = ts.createProgram(entries, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
  });

  /** The role's Allow actions, except logging/tracing and the product key used through a service (kms:ViaService). */
  const heldBy = (role: string): Set<string> => {
    const held = new Set<string>();
    for (const [, r] of resources) {
      if (r.Type !== 'AWS::IAM::Policy' || !r.Properties.Roles.some((x: { Ref: string }) => x.Ref === role)) continue;
      for (const st of r.Properties.PolicyDocument.Statement) {
        if (st.Effect !== 'Allow' || st.Condition?.StringEquals?.['kms:ViaService']) continue;
        for (const a of ([] as string[]).concat(st.Action)) if (!/^(logs|xray):/.test(a)) held.add(a);
      }
    }
    return held;
  };

  test('every function is covered (task handlers, the front door, the drill component, the approval watch)', () => {
    expect(functions.map((f) => f.handler).sort()).toEqual(
      [
        'approval-watch',
        'assess',
        'check-rotation',
        'claim-request',
        'close-request',
        'drill',
        'front-door',
        'intake',
        'lock-key',
        'notify',
        'record',
        'request-approval',
        'rotate',
        'plan-reencryption',
        'reencrypt-objects',
        'summarize-reencryption',
      ].sort(),
    );
  });

  /** Actions granted by the key policy of the keys the function creates itself, never by its role (lambdas/domain/drill.ts). */
  const byOwnKeysPolicy: Record<string, string[]> = {
    drill: ['kms:DescribeKey', 'kms:ScheduleKeyDeletion', 'kms:TagResource'],
  };
  /** Actions granted by the per-run grant the state machine creates on the rotated key (lib/reencryption/reencryption-grant.ts). */
  const byRunGrant: Record<string, string[]> = { 'reencrypt-objects': GRANT_OPERATIONS.map((op) => `kms:${op}`) };

  test.each(functions.map((f) => [f.handler, f.role]))(
    '%s: its role holds exactly the actions its code sends',
    (handler, role) => {
      const sent = actionsOf(program, path.join(ROOT, 'lambdas', handler, 'handler.ts'));
      const granted = new Set([...heldBy(role), ...(byOwnKeysPolicy[handler] ?? []), ...(byRunGrant[handler] ?? [])]);
      expect([...granted].sort()).toEqual([...sent].sort());
    },
  );

  test("the drill keys' policy grants the drill role exactly what its role lacks", () => {
    const roleArn = 'arn:aws:iam::111122223333:role/Drill';
    const granted = (
      drillKeyPolicy('aws', '111122223333', roleArn).Statement as { Principal: { AWS: string }; Action: string }[]
    )
      .filter((st) => st.Principal.AWS === roleArn)
      .map((st) => st.Action);
    expect(granted.sort()).toEqual(byOwnKeysPolicy.drill);
  });

  test('the approval watch may only Query the PendingApprovals index, for APPROVAL# partition values', () => {
    const role = functions.find((f) => f.handler === 'approval-watch')!.role;
    const statements = resources
      .filter(
        ([, r]) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: { Ref: string }) => x.Ref === role),
      )
      .flatMap(([, r]) => r.Properties.PolicyDocument.Statement)
      .filter((st: { Action: string | string[] }) => ([] as string[]).concat(st.Action).includes('dynamodb:Query'));
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0].Resource)).toContain('/index/PendingApprovals');
    expect(statements[0].Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['APPROVAL#*'] } });
  });

  test('the derivation sees what a handler sends (a known case, so the comparison above cannot pass vacuously)', () => {
    const rotate = actionsOf(program, path.join(ROOT, 'lambdas', 'rotate', 'handler.ts'));
    expect(rotate.has('kms:RotateKeyOnDemand')).toBe(true);
    // Intake only reads findings from their sources (and the calls sit in an adapter class it constructs).
    expect([...actionsOf(program, path.join(ROOT, 'lambdas', 'intake', 'handler.ts'))].sort()).toEqual([
      'access-analyzer:GetFinding',
      'guardduty:GetFindings',
      'securityhub:GetFindings',
    ]);
    // The S3 calls of the re-encrypting adapter map to their IAM actions (a copy with its tags).
    const reencrypt = actionsOf(program, path.join(ROOT, 'lambdas', 'reencrypt-objects', 'handler.ts'));
    for (const a of [
      's3:GetObject',
      's3:PutObject',
      's3:GetObjectTagging',
      's3:PutObjectTagging',
      's3:AbortMultipartUpload',
      'kms:GenerateDataKey',
    ])
      expect(reencrypt.has(a)).toBe(true);
    expect(reencrypt.has('s3:HeadObject')).toBe(false);
  });
});
