/**
 * Chat-ready notifications end to end (setting chatNotifications): the notification is published
 * with MessageStructure json, the e-mail text for default and email, and for HTTPS subscribers the
 * Amazon Q Developer custom notification in its documented format; off (the default): plain text.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { simulate } from '../../local/simulate';
import { parseWorld } from '../../local/world';
import { chatFormatProblems } from '../chat-format';

const K1_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const K1 = `arn:aws:kms:us-east-1:111122223333:key/${K1_ID}`;
const finding = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/guardduty/s3-bucket-kms.json'), 'utf8'));
const world = (settings: Record<string, unknown>) =>
  parseWorld({ keys: [{ id: K1_ID, rotationSeconds: 20 }], settings }, 'test world');

describe('chat-ready notifications', () => {
  test('on: per-protocol messages; the https one is a valid custom notification naming the key', async () => {
    const run = await simulate({ world: world({ chatNotifications: true }), input: finding, speed: 100 });
    const note = run.result.notifications.at(-1)!;
    expect(Object.keys(note.messages ?? {}).sort()).toEqual(['default', 'email', 'https']);
    expect(note.messages!.email).toBe(note.messages!.default);
    expect(note.message).toBe(note.messages!.default);
    expect(note.message).toContain(K1);
    const chat = JSON.parse(note.messages!.https);
    expect(chatFormatProblems(chat)).toEqual([]);
    expect(chat.content.title).toBe(note.subject);
    expect(chat.content.description).toContain(`\`${K1}\`: *ROTATED*`);
    expect(chat.id).toBe(run.executionArn);
  });

  test('off (the default): one plain-text message, no MessageStructure', async () => {
    const run = await simulate({ world: world({}), input: finding, speed: 100 });
    const publish = run.calls.filter((c) => c.service === 'sns' && c.operation === 'Publish').at(-1)!;
    expect((publish.input as Record<string, unknown>).MessageStructure).toBeUndefined();
    expect(run.result.notifications.at(-1)!.messages).toBeUndefined();
  });
});
