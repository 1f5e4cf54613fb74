/**
 * The bodies of admin requests that travel to the controller (CreateTopics, DeleteTopics) and
 * of their answers. A peer's body is untrusted: each parser checks the shape and throws
 * InvalidRequestError; what the fields mean (valid names, counts) is the controller's to judge.
 */
import { InvalidRequestError, errorFromJSON, isSerializedTabkaError } from '../errors';
import type { SerializedTabkaError, TabkaError } from '../errors';
import type { FrameBody } from '../protocol/frame';

/** Kafka's CreateTopics: partitions and replication factor may be left to the cluster's defaults. */
export interface NewTopic {
  readonly name: string;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

/** One topic's result: null error means it was done. */
export interface TopicOutcome {
  readonly name: string;
  readonly error: SerializedTabkaError | null;
}

const MAX_TOPICS_PER_REQUEST = 1000;
const MAX_CONFIGS = 100;

function fail(reason: string): never {
  throw new InvalidRequestError(reason);
}

function list(body: FrameBody, key: string): unknown[] {
  const value = body[key];
  if (!Array.isArray(value) || value.length > MAX_TOPICS_PER_REQUEST) fail(`${key} must be an array of at most ${MAX_TOPICS_PER_REQUEST}`);
  return value;
}

function name(value: unknown): string {
  // Long enough for any valid topic name (249) without letting a peer make us hold megabytes.
  if (typeof value !== 'string' || value.length > 1000) fail('a topic name must be a string');
  return value;
}

/** -1 or absent: the cluster's default, as in Kafka's CreateTopics. */
function optionalCount(value: unknown, key: string): number | undefined {
  if (value === undefined || value === -1) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(`${key} must be an integer`);
  return value;
}

function configs(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('configs must be an object');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_CONFIGS) fail(`at most ${MAX_CONFIGS} configs`);
  const out: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v !== 'string') fail(`config ${key} must be a string`);
    out[key] = v;
  }
  return out;
}

export function parseCreateTopicsBody(body: FrameBody): NewTopic[] {
  return list(body, 'topics').map((raw) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('each topic must be an object');
    const topic = raw as Record<string, unknown>;
    const numPartitions = optionalCount(topic['numPartitions'], 'numPartitions');
    const replicationFactor = optionalCount(topic['replicationFactor'], 'replicationFactor');
    const topicConfigs = configs(topic['configs']);
    return {
      name: name(topic['name']),
      ...(numPartitions === undefined ? {} : { numPartitions }),
      ...(replicationFactor === undefined ? {} : { replicationFactor }),
      ...(topicConfigs === undefined ? {} : { configs: topicConfigs }),
    };
  });
}

export function parseDeleteTopicsBody(body: FrameBody): string[] {
  return list(body, 'topics').map(name);
}

export function parseTopicOutcomes(body: FrameBody): { results: TopicOutcome[]; commitOffset: number } {
  const commitOffset = body['commitOffset'];
  if (typeof commitOffset !== 'number' || !Number.isSafeInteger(commitOffset) || commitOffset < 0) fail('commitOffset must be an offset');
  const results = list(body, 'results').map((raw) => {
    if (typeof raw !== 'object' || raw === null) fail('each result must be an object');
    const { name: topic, error } = raw as Record<string, unknown>;
    if (error !== null && !isSerializedTabkaError(error)) fail('a result error must be a tabka error');
    return { name: name(topic), error: error as SerializedTabkaError | null };
  });
  return { results, commitOffset };
}

export function outcomeError(outcome: TopicOutcome): TabkaError | null {
  return outcome.error === null ? null : errorFromJSON(outcome.error);
}

export interface AlterPartitionBody {
  readonly topic: string;
  readonly partition: number;
  readonly leaderEpoch: number;
  readonly isr: number[];
}

function nonNegative(value: unknown, key: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${key} must be a non-negative integer`);
  return value;
}

export function parseAlterPartitionBody(body: FrameBody): AlterPartitionBody {
  const isr = body['isr'];
  if (!Array.isArray(isr) || isr.length === 0 || isr.length > 1024) fail('isr must be a non-empty array of broker ids');
  return {
    topic: name(body['topic']),
    partition: nonNegative(body['partition'], 'partition'),
    leaderEpoch: nonNegative(body['leaderEpoch'], 'leaderEpoch'),
    isr: isr.map((id) => nonNegative(id, 'isr')),
  };
}
