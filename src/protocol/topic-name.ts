/**
 * Kafka's topic-name rule (org.apache.kafka.common.internals.Topic): a browser broker must refuse
 * exactly the names a real broker refuses, so topics can be mirrored to and from Kafka unchanged.
 */
import { InvalidTopicError } from '../errors';

/** Kafka's Topic.MAX_NAME_LENGTH: leaves room for the `-<partition>` suffix of the log directory in a 255-character file name. */
export const MAX_TOPIC_NAME_LENGTH = 249;

const ILLEGAL_CHAR = /[^a-zA-Z0-9._-]/u;

/** Throws InvalidTopicError unless `name` is a legal Kafka topic name. Checks run in Kafka's order. */
export function validateTopicName(name: string): void {
  if (name.length === 0) throw new InvalidTopicError(name, 'the empty string is not allowed');
  // "." and ".." would name the partition directory's parent or itself.
  if (name === '.' || name === '..') throw new InvalidTopicError(name, `'${name}' is not allowed`);
  // `length` counts UTF-16 code units, as Java's String.length() does.
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new InvalidTopicError(
      name,
      `it is ${name.length} characters long, more than the maximum of ${MAX_TOPIC_NAME_LENGTH}`,
    );
  }
  const illegal = ILLEGAL_CHAR.exec(name);
  if (illegal) {
    throw new InvalidTopicError(
      name,
      `character ${JSON.stringify(illegal[0])} at index ${illegal.index} is not allowed; ` +
        `only ASCII alphanumerics, '.', '_' and '-' are`,
    );
  }
}

/**
 * Whether the name has '.' or '_'. Kafka warns on these because metric names replace '.' with
 * '_', so "a.b" and "a_b" would report under the same metric.
 */
export function hasCollisionChars(name: string): boolean {
  return name.includes('.') || name.includes('_');
}
