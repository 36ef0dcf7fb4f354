import fc from 'fast-check';
import {
  aliasArn,
  executionArn,
  isPartition,
  isStateMachineArn,
  keyArn,
  parseArn,
  parseKmsArn,
  partitionOf,
  PARTITIONS,
  type Arn,
  type KmsArn,
} from '../../lambdas/domain/arn';
import { classifyKeyRef } from '../../lambdas/domain/intake/key-refs';
import { homeOfArn } from '../../cli/keys';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MRK_ID = 'mrk-1234abcd12ab34cd56ef1234567890ab';

describe('parseKmsArn', () => {
  it.each<[string, KmsArn]>([
    [
      `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
      { partition: 'aws', region: 'us-east-1', account: '111122223333', resourceType: 'key', resource: KEY_ID },
    ],
    [
      `arn:aws:kms:eu-west-1:111122223333:key/${MRK_ID}`,
      { partition: 'aws', region: 'eu-west-1', account: '111122223333', resourceType: 'key', resource: MRK_ID },
    ],
    [
      'arn:aws:kms:ap-southeast-2:111122223333:alias/payments/prod',
      {
        partition: 'aws',
        region: 'ap-southeast-2',
        account: '111122223333',
        resourceType: 'alias',
        resource: 'payments/prod',
      },
    ],
    [
      `arn:aws-cn:kms:cn-north-1:111122223333:key/${KEY_ID}`,
      { partition: 'aws-cn', region: 'cn-north-1', account: '111122223333', resourceType: 'key', resource: KEY_ID },
    ],
    [
      `arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/${KEY_ID}`,
      {
        partition: 'aws-us-gov',
        region: 'us-gov-west-1',
        account: '111122223333',
        resourceType: 'key',
        resource: KEY_ID,
      },
    ],
    [
      `arn:aws-iso:kms:us-iso-east-1:111122223333:key/${KEY_ID}`,
      { partition: 'aws-iso', region: 'us-iso-east-1', account: '111122223333', resourceType: 'key', resource: KEY_ID },
    ],
    [
      `arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/${KEY_ID}`,
      {
        partition: 'aws-iso-b',
        region: 'us-isob-east-1',
        account: '111122223333',
        resourceType: 'key',
        resource: KEY_ID,
      },
    ],
    [
      `arn:aws-iso-e:kms:eu-isoe-west-1:111122223333:key/${KEY_ID}`,
      {
        partition: 'aws-iso-e',
        region: 'eu-isoe-west-1',
        account: '111122223333',
        resourceType: 'key',
        resource: KEY_ID,
      },
    ],
    [
      `arn:aws-iso-f:kms:us-isof-south-1:111122223333:key/${KEY_ID}`,
      {
        partition: 'aws-iso-f',
        region: 'us-isof-south-1',
        account: '111122223333',
        resourceType: 'key',
        resource: KEY_ID,
      },
    ],
    // The European Sovereign Cloud's Region has a four-letter prefix.
    [
      `arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/${KEY_ID}`,
      {
        partition: 'aws-eusc',
        region: 'eusc-de-east-1',
        account: '111122223333',
        resourceType: 'key',
        resource: KEY_ID,
      },
    ],
    [
      'arn:aws-eusc:kms:eusc-de-east-1:111122223333:alias/app',
      {
        partition: 'aws-eusc',
        region: 'eusc-de-east-1',
        account: '111122223333',
        resourceType: 'alias',
        resource: 'app',
      },
    ],
  ])('%s', (arn, expected) => {
    expect(parseKmsArn(arn)).toEqual(expected);
  });

  it.each([
    ['empty string', ''],
    ['bare key id', KEY_ID],
    ['bare alias name', 'alias/payments'],
    ['S3 bucket ARN', 'arn:aws:s3:::my-bucket'],
    ['IAM role ARN', 'arn:aws:iam::111122223333:role/admin'],
    ['Secrets Manager ARN', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf'],
    ['KMS custom key store ARN', 'arn:aws:kms:us-east-1:111122223333:custom-key-store/cks-1234567890abcdef0'],
    ['unknown partition', `arn:aws-moon:kms:us-east-1:111122223333:key/${KEY_ID}`],
    ['short account', `arn:aws:kms:us-east-1:11112222333:key/${KEY_ID}`],
    ['account with letters', `arn:aws:kms:us-east-1:11112222333a:key/${KEY_ID}`],
    ['no region', `arn:aws:kms::111122223333:key/${KEY_ID}`],
    ['uppercase region', `arn:aws:kms:US-EAST-1:111122223333:key/${KEY_ID}`],
    ['no resource id', 'arn:aws:kms:us-east-1:111122223333:key/'],
    ['leading whitespace', ` arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`],
    ['trailing newline', `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}\n`],
    ['colon in the resource', `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}:extra`],
  ])('rejects %s', (_name, value) => {
    expect(parseKmsArn(value)).toBeNull();
  });

  it('property: never throws, and parses what keyArn builds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        expect(() => parseKmsArn(value)).not.toThrow();
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(
          'us-east-1',
          'eu-central-2',
          'ap-southeast-7',
          'cn-northwest-1',
          'us-gov-east-1',
          'us-isob-east-1',
          'eusc-de-east-1',
        ),
        fc.stringMatching(/^\d{12}$/),
        fc.uuid().map((u) => u.toLowerCase()),
        (region, account, id) => {
          // When
          const parsed = parseKmsArn(keyArn(partitionOf(region), region, account, id));

          // Then
          expect(parsed).toEqual({
            partition: partitionOf(region),
            region,
            account,
            resourceType: 'key',
            resource: id,
          });
        },
      ),
    );
  });
});

describe('partitionOf', () => {
  it.each([
    ['us-east-1', 'aws'],
    ['eu-west-3', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eusc-de-east-1', 'aws-eusc'],
  ])('%s is in %s', (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
  });
});

describe('keyArn', () => {
  it('builds a key ARN', () => {
    expect(keyArn('aws', 'us-east-1', '111122223333', KEY_ID)).toBe(`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`);
  });
});

describe('aliasArn', () => {
  it('builds an alias ARN that parses back', () => {
    // When
    const arn = aliasArn('aws', 'eu-west-1', '111122223333', 'alias/payments/prod');

    // Then
    expect(arn).toBe('arn:aws:kms:eu-west-1:111122223333:alias/payments/prod');
    expect(parseKmsArn(arn)).toEqual({
      partition: 'aws',
      region: 'eu-west-1',
      account: '111122223333',
      resourceType: 'alias',
      resource: 'payments/prod',
    });
  });
});

describe('parseArn (any service)', () => {
  it.each<[string, Arn]>([
    [
      'arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:manual-1',
      {
        partition: 'aws',
        service: 'states',
        region: 'us-east-1',
        account: '111122223333',
        resource: 'execution:KmsIncidentRotation:manual-1',
      },
    ],
    ['arn:aws:s3:::my-bucket', { partition: 'aws', service: 's3', region: '', account: '', resource: 'my-bucket' }],
    [
      'arn:aws-cn:iam::111122223333:role/admin',
      { partition: 'aws-cn', service: 'iam', region: '', account: '111122223333', resource: 'role/admin' },
    ],
    [
      `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`,
      { partition: 'aws', service: 'kms', region: 'us-east-1', account: '111122223333', resource: `key/${KEY_ID}` },
    ],
  ])('%s', (arn, expected) => {
    expect(parseArn(arn)).toEqual(expected);
  });

  it.each([
    ['empty', ''],
    ['not an ARN', 'hello'],
    ['too few parts', 'arn:aws:s3:my-bucket'],
    ['no resource', 'arn:aws:sns:us-east-1:111122223333:'],
    ['too long', `arn:aws:s3:::${'b'.repeat(3000)}`],
  ])('rejects %s', (_name, value) => {
    expect(parseArn(value)).toBeNull();
  });

  it('property: never throws, and agrees with parseKmsArn on KMS ARNs', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        const kms = parseKmsArn(value);
        const any = parseArn(value);
        if (kms)
          expect(any).toEqual({
            partition: kms.partition,
            service: 'kms',
            region: kms.region,
            account: kms.account,
            resource: `${kms.resourceType}/${kms.resource}`,
          });
      }),
    );
  });
});

describe('executionArn', () => {
  it('names an execution of a state machine', () => {
    expect(
      executionArn('arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:KmsIncidentRotation', 'manual-1'),
    ).toBe('arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:KmsIncidentRotation:manual-1');
  });

  it.each(['arn:aws:lambda:us-east-1:111122223333:function:f', 'KmsIncidentRotation'])(
    'is null for %s',
    (notMachine) => {
      expect(executionArn(notMachine, 'x')).toBeNull();
    },
  );
});

describe('one ARN grammar for every side', () => {
  it('every partition a Region maps to is one the parsers accept', () => {
    for (const region of [
      'us-east-1',
      'cn-north-1',
      'us-gov-west-1',
      'us-iso-east-1',
      'us-isob-east-1',
      'eu-isoe-west-1',
      'us-isof-south-1',
      'eusc-de-east-1',
    ]) {
      expect(PARTITIONS).toContain(partitionOf(region));
      expect(isPartition(partitionOf(region))).toBe(true);
    }
  });

  it('a strict key reference is always a KMS ARN the lenient parser reads the same way', () => {
    // Given
    const ref = `arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/${MRK_ID}`;

    // When
    const strict = classifyKeyRef(ref);
    const lenient = parseKmsArn(ref);

    // Then
    expect(strict).toEqual({
      kind: 'keyArn',
      partition: 'aws-eusc',
      region: 'eusc-de-east-1',
      account: '111122223333',
      id: MRK_ID,
    });
    expect(lenient).toMatchObject({
      partition: strict?.partition,
      region: strict?.region,
      account: strict?.account,
      resource: strict?.id,
    });
  });

  it('a KMS ARN with a resource no key id or alias may have is no key reference', () => {
    expect(parseKmsArn('arn:aws:kms:us-east-1:111122223333:key/not-a-uuid')).not.toBeNull();
    expect(classifyKeyRef('arn:aws:kms:us-east-1:111122223333:key/not-a-uuid')).toBeNull();
  });

  it('the CLI reads the account and Region of any ARN with the same parser', () => {
    expect(homeOfArn('arn:aws:states:eu-west-1:111122223333:execution:M:n')).toEqual({
      region: 'eu-west-1',
      account: '111122223333',
    });
    expect(homeOfArn('arn:aws:s3:::my-bucket')).toBeNull();
  });
});

describe('isStateMachineArn', () => {
  test.each([
    ['arn:aws:states:us-east-1:111122223333:stateMachine:KmsIncidentRotation', true],
    ['arn:aws-us-gov:states:us-gov-west-1:111122223333:stateMachine:a_b-c', true],
    ['arn:aws:states:us-east-1:111122223333:execution:KmsIncidentRotation:x', false],
    ['arn:aws:lambda:us-east-1:111122223333:function:f', false],
    ['arn:aws:states:us-east-1:11112222333:stateMachine:M', false],
    ['arn:aws:states:us-east-1:111122223333:stateMachine:' + 'm'.repeat(81), false],
    ['arn:aws-moon:states:us-east-1:111122223333:stateMachine:M', false],
  ])('%s -> %s', (arn, expected) => {
    expect(isStateMachineArn(arn)).toBe(expected);
  });
});
