import { main } from '../../cli/main';
import { captureIo } from '../cli/helpers';

describe('kms-rotate sandbox (the command)', () => {
  it('--help says what it starts, what the env files hold and how to stop it', async () => {
    const { io, stdout } = captureIo();
    expect(await main(['sandbox', '--help'], io)).toBe(0);
    const help = stdout();
    expect(help).toContain('--env-dir <dir>');
    expect(help).toMatch(
      /What it starts: the stand-in \(KMS, S3, SNS\)[\s\S]*ledger[\s\S]*front[\s\S]*door[\s\S]*state machines/,
    );
    expect(help).toMatch(
      /<env-dir>\/<person>\.env sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and\s+AWS_ENDPOINT_URL/,
    );
    expect(help).toContain('inbox.txt');
    expect(help).toMatch(/until Ctrl-C\s+\(SIGINT\) or SIGTERM, then closes every server and exits 0/);
  });

  it('a missing world file or --env-dir is bad input (exit 2) before anything starts', async () => {
    const missing = captureIo();
    expect(
      await main(['sandbox', '--world', '/nonexistent/world.json', '--env-dir', '/tmp/never-written'], missing.io),
    ).toBe(2);
    expect(missing.stderr()).toContain('/nonexistent/world.json');
    const noDir = captureIo();
    expect(await main(['sandbox'], noDir.io)).toBe(2);
    expect(noDir.stderr()).toContain("required option '--env-dir <dir>'");
  });
});
