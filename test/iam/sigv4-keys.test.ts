import { SignatureRefused, verifySigV4 } from '../../local/iam/sigv4';
import { EXECUTE_API, signRequest } from '../../local/sigv4-sign';

const KEY_ID = 'AKIAEXAMPLEROTATED01';
const OLD_SECRET = 'old-secret-0000000000000000000000000000';
const NEW_SECRET = 'new-secret-1111111111111111111111111111';

async function signed(secret: string, region: string, at: Date) {
  const url = new URL('https://api.example/prod/requests');
  const body = '{"keyId":"k"}';
  const headers = await signRequest(
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body },
    { accessKeyId: KEY_ID, secretAccessKey: secret },
    region,
    at,
  );
  return { method: 'POST', rawPath: url.pathname, headers, body };
}

/** Verifies as the server would at `at`, with `secret` as the access key's current secret. */
const verify = (req: Awaited<ReturnType<typeof signed>>, secret: string, at: Date) =>
  verifySigV4(req, EXECUTE_API, (id) => (id === KEY_ID ? secret : null), at);

describe('SigV4 verification with derived signing keys kept between requests (local/iam/sigv4.ts)', () => {
  const day1 = new Date('2026-12-04T10:00:00Z');
  const day2 = new Date('2026-12-05T10:00:00Z');

  it('a rotated secret refuses what the old one signed, though the old key was derived for the same day and scope', async () => {
    const before = await signed(OLD_SECRET, 'us-east-1', day1);
    expect(verify(before, OLD_SECRET, day1)).toEqual({ accessKeyId: KEY_ID, region: 'us-east-1' });
    expect(verify(before, OLD_SECRET, day1)).toEqual({ accessKeyId: KEY_ID, region: 'us-east-1' });
    expect(() => verify(before, NEW_SECRET, day1)).toThrow(SignatureRefused);
    const after = await signed(NEW_SECRET, 'us-east-1', day1);
    expect(verify(after, NEW_SECRET, day1)).toEqual({ accessKeyId: KEY_ID, region: 'us-east-1' });
    expect(() => verify(after, OLD_SECRET, day1)).toThrow(SignatureRefused);
  });

  it('each day and each Region has its own signing key', async () => {
    expect(verify(await signed(OLD_SECRET, 'us-east-1', day1), OLD_SECRET, day1).region).toBe('us-east-1');
    expect(verify(await signed(OLD_SECRET, 'eu-west-1', day1), OLD_SECRET, day1).region).toBe('eu-west-1');
    expect(verify(await signed(OLD_SECRET, 'us-east-1', day2), OLD_SECRET, day2).region).toBe('us-east-1');
  });
});
