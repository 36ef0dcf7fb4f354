/**
 * What the notification's sections share: the UTF-8 size SNS counts, and one-line fields cut to a
 * bound that record whether anything was cut (the message then says so).
 */
import { Buffer } from 'node:buffer';
import { cut, oneLine } from '../text';

/** Bounds of one field of a key's or a target's block. */
export const MAX_FIELD = 300;
export const MAX_DETAIL = 600;

/** Size in UTF-8 bytes, as SNS counts a message. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Records whether any value was cut, so the message can say so. */
export interface Shortening {
  cut: boolean;
}

/** `oneLine`, noting in `s` when the value had to be cut. */
export function field(text: string, max: number, s: Shortening): string {
  const whole = oneLine(text, Number.POSITIVE_INFINITY);
  const line = cut(whole, max);
  if (line !== whole) s.cut = true;
  return line;
}

/** A word the shell reads as itself: quoted with single quotes unless it is plainly safe. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
