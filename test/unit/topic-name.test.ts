import { describe, expect, it } from 'vitest';
import { InvalidTopicError } from '../../src/errors';
import { hasCollisionChars, MAX_TOPIC_NAME_LENGTH, validateTopicName } from '../../src/protocol/topic-name';

function expectInvalid(name: string, reason: RegExp): void {
  let thrown: unknown;
  try {
    validateTopicName(name);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidTopicError);
  const error = thrown as InvalidTopicError;
  expect(error.code).toBe('INVALID_TOPIC_EXCEPTION');
  expect(error.topic).toBe(name);
  expect(error.message).toMatch(reason);
}

describe('validateTopicName', () => {
  it('exports Kafka’s length limit', () => {
    expect(MAX_TOPIC_NAME_LENGTH).toBe(249);
  });

  // Valid names from apache/kafka clients/src/test/java/org/apache/kafka/common/internals/TopicTest.java
  // (shouldAcceptValidTopicNames); "..." is legal, only "." and ".." are not.
  it.each(['valid', 'TOPIC', 'nAmEs', 'ar6', 'VaL1d', '_0-9_.', '...', 'orders-v2.eu_west'])(
    'accepts %j',
    (name) => {
      expect(() => validateTopicName(name)).not.toThrow();
    },
  );

  it('accepts exactly 249 characters and rejects 250', () => {
    expect(() => validateTopicName('a'.repeat(249))).not.toThrow();
    expectInvalid('a'.repeat(250), /250 characters long, more than the maximum of 249/);
  });

  it('rejects the empty string', () => {
    expectInvalid('', /empty string/);
  });

  it.each(['.', '..'])('rejects %j', (name) => {
    expectInvalid(name, /is not allowed/);
  });

  // Invalid names from TopicTest.shouldThrowOnInvalidTopicNames.
  it.each(['foo bar', 'foo:bar', 'foo=bar'])('rejects %j', (name) => {
    expectInvalid(name, /only ASCII alphanumerics, '\.', '_' and '-' are/);
  });

  // Characters from TopicTest.shouldRecognizeInvalidCharactersInTopicNames. Kafka embeds them as
  // "Is <c>illegal", whose space is already illegal; a clean prefix shows each one alone is refused.
  it.each(['/', '\\', ',', '\u0000', ':', '"', "'", ';', '*', '?', ' ', '\t', '\r', '\n', '='])(
    'rejects the character %j',
    (c) => {
      expectInvalid(`Is${c}illegal`, /at index 2 is not allowed/);
      expect(() => validateTopicName(`Is${c}illegal`)).toThrow(`character ${JSON.stringify(c)} at index 2`);
    },
  );

  it.each([
    ['a non-ASCII letter', 'caf\u00e9'],
    ['a Cyrillic look-alike', 't\u043epic'],
    ['an emoji', 'topic-\u{1F680}'],
    ['a full-width digit', 'topic\uFF11'],
  ])('rejects %s', (_label, name) => {
    expectInvalid(name, /is not allowed/);
  });

  it('names the offending character and where it is', () => {
    expectInvalid('orders/eu', /character "\/" at index 6/);
    // The whole code point is reported, not half a surrogate pair.
    expectInvalid('t\u{1F680}', /character "\u{1F680}" at index 1/u);
  });

  it('checks length before characters, as Kafka does', () => {
    expectInvalid(' '.repeat(250), /more than the maximum/);
  });
});

describe('hasCollisionChars', () => {
  // apache/kafka TopicTest.testTopicHasCollisionChars.
  it.each(['start', 'end', 'middle', 'many'])('is false for %j', (name) => {
    expect(hasCollisionChars(name)).toBe(false);
  });

  it.each(['.start', 'end.', 'mid.dle', '.ma.ny.', '_start', 'end_', 'mid_dle', '_ma_ny.'])(
    'is true for %j',
    (name) => {
      expect(hasCollisionChars(name)).toBe(true);
    },
  );
});
