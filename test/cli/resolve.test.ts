import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/main';
import { inputKind } from '../../lambdas/domain/intake/intake';
import { captureIo } from './helpers';
import { FINDING_CASES } from '../fixtures/expected';

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

const dir = mkdtempSync(join(tmpdir(), 'kms-rotate-resolve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function resolve(file: string) {
  const { io, stdout, stderr } = captureIo();
  const code = await main(['resolve', '--event', file], io);
  return { code, out: stdout(), err: stderr() };
}

describe('kms-rotate resolve', () => {
  it.each(FINDING_CASES)(
    '$fixture -> exit 0 with the finding and its keys',
    async ({ fixture: file, source, keys, findingId, severity, severityLabel }) => {
      const { code, out } = await resolve(fixture(file));

      expect(code).toBe(0);
      const printed = JSON.parse(out);
      expect(printed).toEqual({ source, findingId, severity, severityLabel, keys });
      // Stable output: object keys sorted.
      expect(Object.keys(printed)).toEqual(['findingId', 'keys', 'severity', 'severityLabel', 'source']);
    },
  );

  it('exits 2 naming the path for a missing file', async () => {
    const { code, err, out } = await resolve('/nonexistent/finding.json');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe('kms-rotate: --event /nonexistent/finding.json: cannot read the file (no such file)\n');
  });

  it('exits 2 for a file that is not JSON', async () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"source": "aws.guardduty",');
    const { code, err } = await resolve(file);
    expect(code).toBe(2);
    expect(err).toContain(`--event ${file}: not valid JSON`);
  });

  it('exits 2 for an event of an unknown source', async () => {
    const file = join(dir, 'ec2.json');
    writeFileSync(
      file,
      JSON.stringify({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: {} }),
    );
    const { code, err } = await resolve(file);
    expect(code).toBe(2);
    expect(err).toMatch(
      /not a finding of a known source: source: expected aws\.guardduty, aws\.securityhub or aws\.access-analyzer/,
    );
  });

  it('exits 2 for a manual request (not a finding)', async () => {
    const { code, err } = await resolve(fixture('manual/valid.json'));
    expect(code).toBe(2);
    expect(err).toContain('this is a manual request (keyId, reason), not a finding event');
  });

  it.each([
    [
      'a manual request that also names a source',
      { source: 'aws.guardduty', keyId: 'alias/app', reason: 'r' },
      'manual',
      /this is a manual request/,
    ],
    [
      'a finding event that carries a reason field',
      { source: 'aws.ec2', detail: {}, reason: 'r' },
      'finding',
      /not a finding of a known source/,
    ],
  ])('reads %s as Intake does (%s)', async (_name, event, kind, message) => {
    // Given
    const file = join(dir, `dispatch-${kind}.json`);
    writeFileSync(file, JSON.stringify(event));

    // When
    const { code, err } = await resolve(file);

    // Then: the CLI's refusal follows Intake's own dispatch.
    expect(inputKind(event)).toBe(kind);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});
