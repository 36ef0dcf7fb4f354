import { PublishCommand } from '@aws-sdk/client-sns';
import { startStandIn, type StandIn } from '../../local/standin';
import { clients, errorName, world } from './helpers';

// SNS MessageStructure json in the stand-in, as the Publish reference states it: the message is a
// JSON object of per-protocol strings with a "default" entry.

let s: StandIn;
beforeEach(async () => {
  s = await startStandIn(world({}));
});
afterEach(() => s.close());

const publish = (message: string) =>
  clients(s).sns.send(
    new PublishCommand({ TopicArn: s.topicArn, Message: message, MessageStructure: 'json', Subject: 'x' }),
  );

describe('stand-in SNS MessageStructure json', () => {
  test("accepted with a default entry; each protocol's message recorded", async () => {
    await publish(JSON.stringify({ default: 'text', email: 'text', https: '{"version":"1.0"}' }));
    expect(s.published[0].messages).toEqual({ default: 'text', email: 'text', https: '{"version":"1.0"}' });
  });

  test.each([
    ['no default entry', JSON.stringify({ email: 'text' })],
    ['not JSON', 'plain text'],
    ['a JSON array', '["a"]'],
    ['a non-string value', JSON.stringify({ default: 'a', https: { version: '1.0' } })],
  ])('refused as InvalidParameter: %s', async (_name, message) => {
    expect(await errorName(publish(message))).toBe('InvalidParameterException');
    expect(s.published).toEqual([]);
  });
});
