/**
 * The admin's consumer group calls, shaped like KafkaJS's: listGroups, describeGroups,
 * fetchOffsets (with each partition's lag), resetOffsets, setOffsets, deleteGroups. Each
 * goes to the group's coordinator through this tab's broker.
 */
import type { LocalBroker } from '../broker/local-broker';
import type { GroupState } from '../coordinator/group-metadata';
import type { TopicPartition } from '../consumer/assignor';
import { TabkaError, UnknownTopicOrPartitionError } from '../errors';

export interface GroupListing {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
}

export interface GroupMemberDescription {
  readonly memberId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  readonly memberAssignment: readonly TopicPartition[];
}

export interface GroupDescriptionResult {
  readonly groupId: string;
  /** 0, or the error's code when the group could not be described. */
  readonly errorCode: string | 0;
  readonly state: GroupState | 'Unknown';
  readonly protocol: string | null;
  readonly protocolType: string;
  readonly generation: number;
  readonly leader: string | null;
  readonly members: readonly GroupMemberDescription[];
}

export interface PartitionCommit {
  readonly partition: number;
  /** The committed offset, '-1' for none (as KafkaJS). */
  readonly offset: string;
  readonly metadata: string | null;
  /** The partition's high watermark and how far the group is behind it. */
  readonly high: string;
  readonly lag: string;
}

export interface TopicCommits {
  readonly topic: string;
  readonly partitions: PartitionCommit[];
}

export async function listGroups(broker: LocalBroker): Promise<{ groups: GroupListing[] }> {
  return { groups: await broker.group('listGroups') };
}

export async function describeGroups(broker: LocalBroker, groupIds: readonly string[]): Promise<{ groups: GroupDescriptionResult[] }> {
  const groups = await Promise.all(
    groupIds.map(async (groupId): Promise<GroupDescriptionResult> => {
      try {
        const d = await broker.group('describeGroup', groupId);
        const members = d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, topics: m.topics, memberAssignment: m.assignment }));
        return { groupId, errorCode: 0, state: d.state, protocol: d.protocol, protocolType: d.protocolType, generation: d.generation, leader: d.leader, members };
      } catch (error) {
        if (!(error instanceof TabkaError)) throw error;
        return { groupId, errorCode: error.code, state: 'Unknown', protocol: null, protocolType: '', generation: -1, leader: null, members: [] };
      }
    }),
  );
  return { groups };
}

/** Committed offsets of the group for these topics (all it committed when none are named). */
export async function fetchOffsets(broker: LocalBroker, groupId: string, topics?: readonly string[]): Promise<TopicCommits[]> {
  const metadata = await broker.clusterMetadata();
  const committed = await broker.group('fetchOffsets', groupId);
  const names = topics ?? [...new Set(committed.map((c) => c.topic))].sort();
  return Promise.all(
    names.map(async (topic) => {
      const found = metadata.topics.find((t) => t.name === topic);
      if (!found) throw new UnknownTopicOrPartitionError(topic, -1);
      const partitions = await Promise.all(
        found.partitions.map(async ({ partition }) => {
          const entry = committed.find((c) => c.topic === topic && c.partition === partition);
          const { highWatermark } = await broker.offsets(topic, partition);
          const offset = entry?.offset ?? -1;
          return {
            partition,
            offset: String(offset),
            metadata: entry?.metadata ?? null,
            high: String(highWatermark),
            lag: String(offset < 0 ? highWatermark : Math.max(0, highWatermark - offset)),
          };
        }),
      );
      return { topic, partitions };
    }),
  );
}

/** Sets a group's offsets; the group must have no members (NonEmptyGroupError otherwise). */
export async function setOffsets(broker: LocalBroker, groupId: string, topic: string, partitions: readonly { partition: number; offset: string }[]): Promise<void> {
  await broker.group(
    'setOffsets',
    groupId,
    partitions.map(({ partition, offset }) => ({ topic, partition, offset: Number(offset) })),
  );
}

/** Moves every partition of the topic to its log start (earliest) or high watermark (latest). */
export async function resetOffsets(broker: LocalBroker, groupId: string, topic: string, earliest: boolean): Promise<void> {
  const metadata = await broker.clusterMetadata();
  const found = metadata.topics.find((t) => t.name === topic);
  if (!found) throw new UnknownTopicOrPartitionError(topic, -1);
  const partitions = await Promise.all(
    found.partitions.map(async ({ partition }) => {
      const offsets = await broker.offsets(topic, partition);
      return { partition, offset: String(earliest ? offsets.logStartOffset : offsets.highWatermark) };
    }),
  );
  await setOffsets(broker, groupId, topic, partitions);
}

export async function deleteGroups(broker: LocalBroker, groupIds: readonly string[]): Promise<{ groupId: string; errorCode: string | 0; error?: TabkaError }[]> {
  return Promise.all(
    groupIds.map(async (groupId) => {
      try {
        await broker.group('deleteGroup', groupId);
        return { groupId, errorCode: 0 as const };
      } catch (error) {
        if (!(error instanceof TabkaError)) throw error;
        return { groupId, errorCode: error.code, error };
      }
    }),
  );
}
