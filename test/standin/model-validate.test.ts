import { checkS3Answer, checkSnsAnswer } from '../../local/models/check';
import { loadModel } from '../../local/models/model';
import { snsInput } from '../../local/models/query';
import { s3Input } from '../../local/models/rest-xml';
import { extract, EXTRACT_OPERATIONS } from '../../local/models/extract';
import { validateInput, validateOutput, validationMessage } from '../../local/models/validate';
import { KMS_OPERATIONS } from '../../local/standin/kms';
import { S3_OPERATIONS } from '../../local/standin/s3';
import { SNS_OPERATIONS } from '../../local/standin/sns';

const kms = loadModel('kms');
const KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('pinned model extracts', () => {
  test.each(Object.keys(EXTRACT_OPERATIONS))(
    '%s: records its source (repository, commit, file) and holds every listed operation',
    (service) => {
      const m = loadModel(service as Parameters<typeof loadModel>[0]);
      expect(m.source.repository).toMatch(/^(smithy-lang\/smithy-rs|aws\/api-models-aws)$/);
      expect(m.source.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(m.source.file).toMatch(/\.json$/);
      expect(Object.keys(m.operations).sort()).toEqual([...EXTRACT_OPERATIONS[service]].sort());
      // Every shape an operation reaches is in the extract (validation walks them without a miss).
      for (const op of Object.values(m.operations)) {
        for (const id of [op.input, op.output])
          expect(id.startsWith('smithy.api#') || m.shapes[id] !== undefined).toBe(true);
      }
    },
  );

  test('every operation the stand-in serves is in its service extract', () => {
    expect(KMS_OPERATIONS.filter((op) => !loadModel('kms').operations[op])).toEqual([]);
    expect(S3_OPERATIONS.filter((op) => !loadModel('s3').operations[op])).toEqual([]);
    expect(SNS_OPERATIONS.filter((op) => !loadModel('sns').operations[op])).toEqual([]);
  });
});

describe('extract', () => {
  const src = { repository: 'o/r', commit: 'a'.repeat(40), file: 'm.json', service: '' };
  const model = {
    shapes: {
      'com.amazonaws.sts#AWSSecurityTokenServiceV20110615': {
        type: 'service',
        traits: { 'aws.protocols#awsQuery': {} },
      },
      'com.amazonaws.sts#GetCallerIdentity': {
        type: 'operation',
        input: { target: 'com.amazonaws.sts#In' },
        output: { target: 'com.amazonaws.sts#Out' },
      },
      'com.amazonaws.sts#In': { type: 'structure', members: {} },
      'com.amazonaws.sts#Out': {
        type: 'structure',
        traits: { 'smithy.api#documentation': 'dropped' },
        members: {
          Account: {
            target: 'com.amazonaws.sts#Acct',
            traits: { 'smithy.api#documentation': 'dropped', 'smithy.api#required': {} },
          },
          N: { target: 'smithy.api#Integer' },
        },
      },
      'com.amazonaws.sts#Acct': {
        type: 'string',
        traits: { 'smithy.api#length': { min: 12, max: 12 }, 'smithy.api#pattern': '^\\d+$' },
      },
      'com.amazonaws.sts#Unreached': { type: 'string' },
    },
  };

  test('keeps the listed operations, the shapes they reach and the validation traits; drops documentation and unreached shapes', () => {
    const out = extract('sts', model, src);
    expect(out).toEqual({
      source: { ...src, service: 'com.amazonaws.sts#AWSSecurityTokenServiceV20110615' },
      protocol: 'awsQuery',
      operations: { GetCallerIdentity: { input: 'In', output: 'Out' } },
      shapes: {
        Acct: { type: 'string', traits: { 'smithy.api#length': { min: 12, max: 12 }, 'smithy.api#pattern': '^\\d+$' } },
        In: { type: 'structure', members: {} },
        Out: {
          type: 'structure',
          members: {
            Account: { target: 'Acct', traits: { 'smithy.api#required': {} } },
            N: { target: 'smithy.api#Integer' },
          },
        },
      },
    });
  });

  test('an operation missing from the model is an error, not a silently smaller extract', () => {
    const shapes = { ...model.shapes } as Record<string, unknown>;
    delete shapes['com.amazonaws.sts#GetCallerIdentity'];
    expect(() => extract('sts', { shapes } as typeof model, src)).toThrow(
      /operation GetCallerIdentity is not in the model/,
    );
  });
});

describe('validateInput (KMS, awsJson)', () => {
  test("a 2,049-character KeyId: AWS's message for @length", () => {
    const long = 'k'.repeat(2049);
    const issues = validateInput(kms, 'DescribeKey', { KeyId: long });
    expect(validationMessage(issues)).toBe(
      `1 validation error detected: Value '${long}' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    );
    expect(validateInput(kms, 'DescribeKey', { KeyId: 'k'.repeat(2048) })).toEqual([]);
  });

  test('an empty KeyId: length greater than or equal to 1 (as KMS reports it)', () => {
    expect(validationMessage(validateInput(kms, 'Encrypt', { KeyId: '', Plaintext: 'YQ==' }))).toBe(
      "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  });

  test('missing required members: "Value null ... Member must not be null", N errors joined by "; "', () => {
    expect(validationMessage(validateInput(kms, 'Encrypt', {}))).toBe(
      "2 validation errors detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    );
  });

  test('an enum value the model does not list is refused; listed values pass', () => {
    const issues = validateInput(kms, 'CreateKey', { KeySpec: 'AES_128' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ kind: 'enum', path: 'keySpec' });
    expect(issues[0].constraint).toMatch(/^Member must satisfy enum value set: \[.*SYMMETRIC_DEFAULT.*\]$/);
    expect(validateInput(kms, 'CreateKey', { KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' })).toEqual([]);
  });

  test('@range: Limit 0 and 1001 refused, 1 and 1000 accepted', () => {
    expect(validationMessage(validateInput(kms, 'ListKeyRotations', { KeyId: KEY, Limit: 1001 }))).toBe(
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );
    expect(validateInput(kms, 'ListKeyRotations', { KeyId: KEY, Limit: 0 })[0].constraint).toBe(
      'Member must have value greater than or equal to 1',
    );
    expect(validateInput(kms, 'ListKeyRotations', { KeyId: KEY, Limit: 1 })).toEqual([]);
    expect(validateInput(kms, 'ListKeyRotations', { KeyId: KEY, Limit: 1000 })).toEqual([]);
  });

  test('@pattern: a key policy with a character outside the allowed set', () => {
    const issues = validateInput(kms, 'CreateKey', { Policy: '{"Version":"2012-10-17"}\u0001' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ kind: 'pattern', path: 'policy' });
    expect(issues[0].constraint).toMatch(/^Member must satisfy regular expression pattern: \^\[/);
  });

  test('list members: the path names the 1-based entry (tags.1.member.tagKey)', () => {
    const issues = validateInput(kms, 'CreateKey', { Tags: [{ TagKey: '', TagValue: 'v' }] });
    expect(issues.map((i) => `${i.path}: ${i.constraint}`)).toEqual([
      'tags.1.member.tagKey: Member must have length greater than or equal to 1',
    ]);
  });

  test('a sensitive value is left out of the message (Plaintext over 4096 bytes)', () => {
    const plaintext = Buffer.alloc(4097).toString('base64');
    expect(validationMessage(validateInput(kms, 'Encrypt', { KeyId: KEY, Plaintext: plaintext }))).toBe(
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
  });

  test('a blob is measured in bytes after base64 decoding; a non-base64 string is a type error', () => {
    expect(validateInput(kms, 'Decrypt', { CiphertextBlob: Buffer.alloc(6144).toString('base64') })).toEqual([]);
    expect(validateInput(kms, 'Decrypt', { CiphertextBlob: Buffer.alloc(6145).toString('base64') })[0]).toMatchObject({
      kind: 'length',
      path: 'ciphertextBlob',
    });
    expect(validateInput(kms, 'Decrypt', { CiphertextBlob: 'not base64!' })[0]).toMatchObject({
      kind: 'type',
      path: 'ciphertextBlob',
    });
  });

  test('unknown members and wrong JSON types are reported as such', () => {
    expect(validateInput(kms, 'DescribeKey', { KeyId: KEY, Keyid: KEY })).toEqual([
      expect.objectContaining({ kind: 'unknown', path: 'keyid' }),
    ]);
    expect(validateInput(kms, 'ListKeyRotations', { KeyId: KEY, Limit: '5' })).toEqual([
      expect.objectContaining({
        kind: 'type',
        path: 'limit',
        constraint: 'STRING_VALUE can not be converted to an Integer',
      }),
    ]);
    expect(validateInput(kms, 'Encrypt', { KeyId: KEY, Plaintext: 'YQ==', EncryptionContext: { a: 1 } })).toEqual([
      expect.objectContaining({ kind: 'type', path: 'encryptionContext.a.member' }),
    ]);
    expect(validateInput(kms, 'Encrypt', { KeyId: KEY, Plaintext: 'YQ==', GrantTokens: 'token' })[0]).toMatchObject({
      kind: 'type',
      path: 'grantTokens',
    });
  });
});

describe('validateOutput', () => {
  test('KMS: an enum value and a member the output shape does not have are refused', () => {
    const ok = { KeyMetadata: { KeyId: KEY, KeyState: 'Enabled', CreationDate: 1700000000 } };
    expect(validateOutput(kms, 'DescribeKey', ok)).toEqual([]);
    expect(
      validateOutput(kms, 'DescribeKey', { KeyMetadata: { ...ok.KeyMetadata, KeyState: 'Rotating' } })[0],
    ).toMatchObject({ kind: 'enum', path: 'keyMetadata.keyState' });
    expect(validateOutput(kms, 'DescribeKey', { ...ok, Extra: 1 })[0]).toMatchObject({
      kind: 'unknown',
      path: 'extra',
    });
  });

  test('KMS: a required output member that is missing is refused (KeyMetadata.KeyId)', () => {
    expect(validateOutput(kms, 'DescribeKey', { KeyMetadata: { KeyState: 'Enabled' } })).toEqual([
      expect.objectContaining({ kind: 'required', path: 'keyMetadata.keyId' }),
    ]);
  });

  test('SDK-deserialized forms are accepted: Date timestamps, Uint8Array blobs, $metadata', () => {
    const out = {
      $metadata: { httpStatusCode: 200 },
      CiphertextBlob: new Uint8Array(10),
      KeyId: KEY,
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
    expect(validateOutput(kms, 'Encrypt', out)).toEqual([]);
    const described = { $metadata: {}, KeyMetadata: { KeyId: KEY, CreationDate: new Date() } };
    expect(validateOutput(kms, 'DescribeKey', described)).toEqual([]);
  });
});

describe('protocol bindings', () => {
  const sns = loadModel('sns');

  test('SNS query: flattened MessageAttributes entries decode as the model map; a missing DataType is found', () => {
    const form = new URLSearchParams({
      Action: 'Publish',
      Version: '2010-03-31',
      TopicArn: 'arn:aws:sns:us-east-1:111122223333:t',
      Message: 'm',
      'MessageAttributes.entry.1.Name': 'a',
      'MessageAttributes.entry.1.Value.DataType': 'String',
      'MessageAttributes.entry.1.Value.StringValue': 'x',
      'MessageAttributes.entry.2.Name': 'b',
      'MessageAttributes.entry.2.Value.StringValue': 'y',
    });
    const input = snsInput('Publish', form);
    expect(input).toEqual({
      TopicArn: 'arn:aws:sns:us-east-1:111122223333:t',
      Message: 'm',
      MessageAttributes: { a: { DataType: 'String', StringValue: 'x' }, b: { StringValue: 'y' } },
    });
    expect(validationMessage(validateInput(sns, 'Publish', input, { text: true }))).toBe(
      "1 validation error detected: Value null at 'messageAttributes.b.member.dataType' failed to satisfy constraint: Member must not be null",
    );
  });

  test('SNS query: list members (Tags.member.N) decode in index order', () => {
    const form = new URLSearchParams({
      Name: 't',
      'Tags.member.2.Key': 'k2',
      'Tags.member.2.Value': 'v2',
      'Tags.member.1.Key': '',
      'Tags.member.1.Value': 'v1',
    });
    const input = snsInput('CreateTopic', form);
    expect(input.Tags).toEqual([
      { Key: '', Value: 'v1' },
      { Key: 'k2', Value: 'v2' },
    ]);
    expect(validateInput(sns, 'CreateTopic', input, { text: true }).map((i) => i.path)).toEqual(['tags.1.member.key']);
  });

  test('S3 REST: labels, headers, prefix headers and query bind to members; text scalars are typed', () => {
    const { input } = s3Input('ListObjectsV2', {
      bucket: 'b',
      key: '',
      query: new URLSearchParams('list-type=2&max-keys=abc&prefix=p/'),
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(input).toEqual({ Bucket: 'b', MaxKeys: 'abc', Prefix: 'p/' });
    expect(validateInput(loadModel('s3'), 'ListObjectsV2', input, { text: true })).toEqual([
      expect.objectContaining({ kind: 'type', path: 'maxKeys' }),
    ]);
    const put = s3Input('PutObject', {
      bucket: 'b',
      key: 'k',
      query: new URLSearchParams(),
      body: Buffer.from('x'),
      headers: {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-meta-owner': 'me',
        'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      },
    }).input;
    expect(put).toEqual({
      Bucket: 'b',
      Key: 'k',
      ServerSideEncryption: 'aws:kms',
      Metadata: { owner: 'me' },
      BucketKeyEnabled: 'true',
    });
    expect(validateInput(loadModel('s3'), 'PutObject', put, { text: true })).toEqual([]);
  });

  test('S3 REST: an XML payload decodes by @xmlName, flattened lists included; an unknown element is an unknown member', () => {
    const body = Buffer.from(
      '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag></Part><Bogus>1</Bogus></CompleteMultipartUpload>',
    );
    const { input } = s3Input('CompleteMultipartUpload', {
      bucket: 'b',
      key: 'k',
      query: new URLSearchParams('uploadId=u'),
      headers: {},
      body,
    });
    expect(input.MultipartUpload).toEqual({ Parts: [{ PartNumber: '1', ETag: '"e"' }], Bogus: '1' });
    expect(validateInput(loadModel('s3'), 'CompleteMultipartUpload', input, { text: true })).toEqual([
      expect.objectContaining({ kind: 'unknown', path: 'multipartUpload.bogus' }),
    ]);
  });
});

describe('answer checks on the wire forms (S3 headers and XML, SNS XML)', () => {
  const list = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ListBucketResult>`;

  test('S3: a valid ListObjectsV2 body passes; an element or a value the model does not have is a stand-in bug', () => {
    const ok =
      '<Name>b</Name><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>';
    expect(() => checkS3Answer('ListObjectsV2', {}, list(ok))).not.toThrow();
    expect(() => checkS3Answer('ListObjectsV2', {}, list(`${ok}<Colour>red</Colour>`))).toThrow(
      /stand-in bug: answer does not match the model: S3 ListObjectsV2: colour: Unknown member/,
    );
    expect(() =>
      checkS3Answer('ListObjectsV2', {}, list(ok.replace('<StorageClass>STANDARD', '<StorageClass>COLD'))),
    ).toThrow(/contents\.1\.member\.storageClass: Member must satisfy enum value set/);
    expect(() => checkS3Answer('ListObjectsV2', {}, list(ok.replace('<KeyCount>1', '<KeyCount>one')))).toThrow(
      /keyCount/,
    );
  });

  test('S3: HeadObject headers bind to HeadObjectOutput; the encryption-context header does not', () => {
    const headers = {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
      'x-amz-meta-a': '1',
      'x-amz-request-id': 'r',
    };
    expect(() => checkS3Answer('HeadObject', headers)).not.toThrow();
    expect(() => checkS3Answer('HeadObject', { ...headers, 'x-amz-server-side-encryption-context': 'e30=' })).toThrow(
      /x-amz-server-side-encryption-context binds to no member of HeadObjectOutput/,
    );
    expect(() =>
      checkS3Answer('PutObject', {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-context': 'e30=',
      }),
    ).not.toThrow();
    expect(() => checkS3Answer('PutObject', headers)).toThrow(/x-amz-meta-a binds to no member of PutObjectOutput/);
    expect(() => checkS3Answer('HeadObject', { ...headers, 'x-amz-server-side-encryption': 'aws:kms:dsse:x' })).toThrow(
      /serverSideEncryption: Member must satisfy enum value set/,
    );
  });

  test('SNS: the Result element is checked against the output shape', () => {
    const answer = (inner: string) =>
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>${inner}</PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`;
    expect(() => checkSnsAnswer('Publish', answer('<MessageId>m</MessageId>'))).not.toThrow();
    expect(() => checkSnsAnswer('Publish', answer('<MessageId>m</MessageId><Queued>true</Queued>'))).toThrow(
      /SNS Publish: queued: Unknown member/,
    );
    expect(() => checkSnsAnswer('Publish', '<PublishResponse></PublishResponse>')).toThrow(
      /no <PublishResult> element/,
    );
  });
});
