import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { captureIo } from './helpers';

// The real workflow, synthesized from the stack and run locally against the stand-in.
jest.setTimeout(60_000);

const dir = mkdtempSync(join(tmpdir(), 'kms-rotate-simulate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

describe('kms-rotate simulate', () => {
  it('runs the built-in world and finding end to end: a live trace, the notification and a verdict (exit 0)', async () => {
    const { io, stdout, stderr } = captureIo();

    const code = await main(['simulate', '--speed', '100'], io);

    expect(code).toBe(0);
    const out = stdout();
    expect(out).toContain(
      'Simulating a GuardDuty finding Exfiltration:S3/AnomalousBehavior (severity 8) in the built-in world',
    );
    expect(out).toMatch(/Assess +key\/1234abcd-12ab-34cd-56ef-1234567890ab {2}-> ROTATE/);
    expect(out).toMatch(/Rotate +key\/1234abcd\S+ {2}started/);
    expect(out).toMatch(/Rotate +key\/1234abcd\S+ {2}-> rotation started/);
    expect(out).toMatch(/WaitForRotation +key\/1234abcd\S+ {2}waiting 0\.05s \(scaled from 5s\)/);
    expect(out).toMatch(/CheckRotation +key\/1234abcd\S+ {2}-> ROTATED/);
    expect(out).toMatch(/^Subject: \[ROTATED\] 1 key - GuardDuty Exfiltration:S3\/AnomalousBehavior$/m);
    expect(out).toContain('KMS incident rotation: ROTATED - 1 key: 1 rotated.');
    expect(out).toMatch(/Verdict: execution SUCCEEDED; 1 ROTATED; exit 0\n$/);
    expect(stderr()).toContain('Synthesizing the stack');
  });

  it('--json: stdout is only the simulation result; a retried throttle shows in the trace on stderr', async () => {
    const world = file('throttled.json', {
      keys: [{ id: '1234abcd-12ab-34cd-56ef-1234567890ab', rotationSeconds: 5 }],
      faults: [{ service: 'kms', operation: 'RotateKeyOnDemand', error: 'ThrottlingException', times: 1 }],
    });
    const request = file('request.json', { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', reason: 'INC-1' });
    const { io, stdout, stderr } = captureIo();

    const code = await main(['simulate', '--world', world, '--request', request, '--json', '--speed', '100'], io);

    expect(code).toBe(0);
    const result = JSON.parse(stdout());
    expect(result.executionStatus).toBe('SUCCEEDED');
    expect(result.keys[0]).toMatchObject({ outcome: 'ROTATED' });
    expect(result.notifications[0].subject).toMatch(/^\[ROTATED\] 1 key - manual: INC-1$/);
    expect(stderr()).toMatch(/Rotate +key\/1234abcd\S+ {2}retried after ThrottlingException/);
    // The run's counts against Step Functions' limits.
    expect(result.historyEvents).toBeGreaterThan(30);
    expect(result.historyEvents).toBeLessThan(25_000);
    expect(result.stateTransitions).toBeGreaterThan(10);
    expect(result.stateTransitions).toBeLessThan(result.historyEvents);
    expect(result.largestPayloadBytes).toBeGreaterThan(500);
    expect(result.largestPayloadBytes).toBeLessThan(262_144);
  });

  it("an approval refused by the two-person rule shows at once with the front door's answer; the next answer approves; the output ends with the final notification", async () => {
    // Given: alice asks, then tries to approve her own request; bob approves.
    const key = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const w = file('approval-world.json', {
      keys: [{ id: key, tags: { 'kms-incident-rotation': 'approval' }, rotationSeconds: 5 }],
      requester: 'alice',
      approvals: {
        [key]: [
          { decision: 'approve', by: 'alice' },
          { decision: 'approve', by: 'bob', reason: 'owner agreed' },
        ],
      },
    });
    const request = file('approval-request.json', { keyId: key, reason: 'INC-9' });
    const { io, stdout } = captureIo();

    // When
    const code = await main(['simulate', '--world', w, '--request', request, '--speed', '100'], io);

    // Then
    const out = stdout();
    expect(code).toBe(0);
    expect(out).toMatch(
      /RequestApproval +key\/1234abcd\S* +approve by alice refused by the front door \(403: [^)]*\); the gate keeps waiting/,
    );
    expect(out).toMatch(/RequestApproval +key\/1234abcd\S* +approved by bob \(owner agreed\)/);
    expect(out.indexOf('refused by the front door')).toBeLessThan(out.indexOf('approved by bob'));
    expect(out).toMatch(/Earlier notifications \(1\)\n  Subject: \[APPROVAL NEEDED\]/);
    expect(out).toMatch(/Final notification \(SNS\)\nSubject: \[ROTATED\]/);
    expect(out).toMatch(/Approved by: \S*\/bob \(owner agreed\)/);
  });

  it('every key skipped: exit 3, as start; a failed key FAILED (exit 1)', async () => {
    const skipped = file('skipped.json', {
      keys: [{ id: '1234abcd-12ab-34cd-56ef-1234567890ab', keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' }],
    });
    const request = file('request2.json', { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', reason: 'INC-2' });
    const run1 = captureIo();
    expect(await main(['simulate', '--world', skipped, '--request', request, '--speed', '100'], run1.io)).toBe(3);
    expect(run1.stdout()).toMatch(/Verdict: execution SUCCEEDED; 1 SKIPPED; exit 3/);
    expect(run1.stdout()).toMatch(/Assess +key\/1234abcd\S+ {2}-> SKIPPED UNSUPPORTED_KEY_SPEC/);
    expect(run1.stdout()).toMatch(/^Subject: \[SKIPPED\]/m);

    const denied = file('denied.json', {
      keys: [{ id: '1234abcd-12ab-34cd-56ef-1234567890ab' }],
      faults: [{ service: 'kms', operation: 'DescribeKey', error: 'AccessDeniedException', times: 10 }],
    });
    const run2 = captureIo();
    expect(await main(['simulate', '--world', denied, '--request', request, '--speed', '100'], run2.io)).toBe(1);
    expect(run2.stdout()).toMatch(/FAILED ACCESS_DENIED/);
    expect(run2.stdout()).toMatch(/Verdict: execution FAILED \(KeyRotationFailed\); 1 FAILED; exit 1/);
  });

  describe('a storm: several triggers at once against one stand-in and one ledger', () => {
    const FIXTURE_KEY = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const keys = ['00000000-aaaa-bbbb-cccc-123456789012', '00000001-aaaa-bbbb-cccc-123456789012'];
    const arn = (id: string) => `arn:aws:kms:us-east-1:111122223333:key/${id}`;
    const stormDir = join(dir, 'storm');
    const fixtureText = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');
    mkdirSync(stormDir);
    // File names sort as: key 0 GuardDuty, key 0 Security Hub, key 1 GuardDuty, key 1 Security Hub.
    keys.forEach((id, i) => {
      const guardDuty = JSON.parse(fixtureText('guardduty/s3-bucket-kms.json').replaceAll(FIXTURE_KEY, id));
      guardDuty.detail.id = `storm-${i}`;
      writeFileSync(join(stormDir, `${i}-a-guardduty.json`), JSON.stringify(guardDuty));
      writeFileSync(
        join(stormDir, `${i}-b-securityhub.json`),
        fixtureText('securityhub/kms-key-resource.json').replaceAll(FIXTURE_KEY, id),
      );
    });
    writeFileSync(join(stormDir, 'notes.txt'), 'not a trigger');
    const stormWorld = () =>
      file('storm-world.json', {
        keys: keys.map((id) => ({ id, rotationSeconds: 5 })),
        quotas: { RotateKeyOnDemand: 1 },
      });

    it('--events DIR --json: one summary per execution in file-name order, KMS calls per key, throttles; a labelled trace on stderr', async () => {
      const { io, stdout, stderr } = captureIo();

      const code = await main(
        ['simulate', '--world', stormWorld(), '--events', stormDir, '--stagger-ms', '50', '--speed', '20', '--json'],
        io,
      );

      expect(code).toBe(0);
      const out = JSON.parse(stdout());
      expect(Object.keys(out)).toEqual(['executions', 'calls', 'throttles']);
      expect(out.executions.map((e: { keys: { keyArn: string }[] }) => e.keys[0].keyArn)).toEqual([
        arn(keys[0]),
        arn(keys[0]),
        arn(keys[1]),
        arn(keys[1]),
      ]);
      expect(out.executions.map((e: { executionStatus: string }) => e.executionStatus)).toEqual(
        Array(4).fill('SUCCEEDED'),
      );
      expect(out.calls.RotateKeyOnDemand).toEqual({ [arn(keys[0])]: 1, [arn(keys[1])]: 1 });
      // Every throttle the stand-in answered is a Rotate retry in the trace.
      const retried = stderr().match(/^e0\d .*Rotate +key\/\S+ {2}retried after ThrottlingException/gm) ?? [];
      expect(out.throttles).toBe(retried.length);
      for (const label of ['e01', 'e02', 'e03', 'e04'])
        expect(stderr()).toMatch(new RegExp(`^${label} +\\d\\d:\\d\\d  Intake `, 'm'));
      expect(stderr()).toMatch(/^ {2}e03 {2}a GuardDuty finding .*\(1-a-guardduty\.json\)$/m);
    });

    it('--event repeated: a report per execution, one RotateKeyOnDemand per key, mail only from the execution that rotated', async () => {
      const { io, stdout } = captureIo();
      const events = readdirSync(stormDir)
        .filter((n) => n.startsWith('0-'))
        .flatMap((n) => ['--event', join(stormDir, n)]);

      const code = await main(['simulate', '--world', stormWorld(), ...events, '--speed', '20'], io);

      expect(code).toBe(0);
      const out = stdout();
      expect(out).toMatch(/^Simulating a storm of 2 triggers, 0 ms apart/m);
      expect(out).toMatch(/^ {2}e0[12] {2}SUCCEEDED {2}1 ROTATED; mailed: \[ROTATED\] 1 key - /m);
      expect(out).toMatch(
        /^ {2}e0[12] {2}SUCCEEDED {2}1 SKIPPED RECENTLY_ROTATED; notification filtered \(handled by another execution\)$/m,
      );
      expect(out).toMatch(/^KMS: 1 RotateKeyOnDemand on 1 key \(at most 1 per key\); \d+ throttled/m);
      expect(out).toMatch(/^Notifications: 2 published, 1 past the e-mail filter \(duplicate=false\)$/m);
      expect(out).toMatch(/Verdict: 2 executions, 2 SUCCEEDED; exit 0\n$/);
    });

    it('one trigger in --events runs as a single simulation (output unchanged)', async () => {
      const single = join(dir, 'single');
      mkdirSync(single);
      writeFileSync(join(single, 'only.json'), fixtureText('guardduty/s3-bucket-kms.json'));
      const { io, stdout } = captureIo();

      expect(await main(['simulate', '--events', single, '--speed', '100', '--json'], io)).toBe(0);
      expect(JSON.parse(stdout())).toMatchObject({ executionStatus: 'SUCCEEDED', keys: [{ outcome: 'ROTATED' }] });
    });

    it.each([
      [
        'a missing folder',
        ['--events', '/nonexistent/findings'],
        /--events \/nonexistent\/findings: cannot read the folder \(no such folder\)/,
      ],
      ['a folder without *.json', ['--events', 'EMPTY'], /--events .*: no \*\.json files in the folder/],
      [
        '--events with --request',
        ['--events', 'EMPTY', '--request', 'b.json'],
        /cannot be used with option '--request <file>'|option '--request <file>' cannot be used with/,
      ],
      ['a negative --stagger-ms', ['--stagger-ms', '-5'], /--stagger-ms/],
      [
        'a manual request among the events',
        ['--event', 'MANUAL', '--event', 'MANUAL'],
        /--event .*manual\.json: this is a manual request, not a finding event/,
      ],
    ])('%s -> exit 2', async (_what, args, message) => {
      const empty = join(dir, 'empty');
      mkdirSync(empty, { recursive: true });
      const paths: Record<string, string> = {
        EMPTY: empty,
        MANUAL: file('manual.json', { keyId: keys[0], reason: 'x' }),
      };
      const { io, stderr } = captureIo();
      expect(await main(['simulate', ...args.map((a) => paths[a] ?? a)], io)).toBe(2);
      expect(stderr()).toMatch(message);
    });
  });

  it.each([
    [
      'a missing world file',
      ['--world', '/nonexistent/world.json'],
      /Invalid world \/nonexistent\/world\.json:\n {2}- cannot read the file/,
    ],
    ['a bad field in the world', ['--world', 'BAD_WORLD'], /keys\[0\]\.keySpec: /],
    [
      'an unreadable --event file',
      ['--event', '/nonexistent/event.json'],
      /--event \/nonexistent\/event\.json: cannot read the file \(no such file\)/,
    ],
    ['an --event that is not JSON', ['--event', 'NOT_JSON'], /not valid JSON/],
    [
      'a --request with a bad key',
      ['--request', 'BAD_REQUEST'],
      /keyId: expected a KMS key id, key ARN, alias name or alias ARN, got "not a key"/,
    ],
    [
      'both --event and --request',
      ['--event', 'a.json', '--request', 'b.json'],
      /option '--event <file>' cannot be used with option '--request <file>'/,
    ],
    ['a zero --speed', ['--speed', '0'], /expected a positive number/],
  ])('%s -> exit 2 naming the path and the problem, no stack trace', async (_what, args, message) => {
    const paths: Record<string, string> = {
      BAD_WORLD: file('bad-world.json', { keys: [{ id: 'k', keySpec: 'RSA_1024' }] }),
      NOT_JSON: file('not-json.json', '{ nope'),
      BAD_REQUEST: file('bad-request.json', { keyId: 'not a key', reason: 'x' }),
    };
    const { io, stderr, stdout } = captureIo();

    const code = await main(['simulate', ...args.map((a) => paths[a] ?? a)], io);

    expect(code).toBe(2);
    expect(stderr()).toMatch(message);
    expect(stderr()).not.toMatch(/\n\s+at /);
    expect(stdout()).toBe('');
  });
});
