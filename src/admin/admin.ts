import { TopicAlreadyExistsError, UnknownTopicOrPartitionError } from '../errors';
import { outcomeError } from '../broker/admin-requests';
import type { TopicOutcome } from '../broker/admin-requests';
import type { Tabka } from '../tabka';
import * as groups from './group-admin';
import type { GroupDescriptionResult, GroupListing, TopicCommits } from './group-admin';

export interface BrokerDescription {
  readonly nodeId: number;
  /** Whether this broker is reachable from here now (a crashed one stays a member until it leaves). */
  readonly live: boolean;
  /** Registered with the controller and not fenced: it may lead partitions. */
  readonly active: boolean;
}

export interface ClusterDescription {
  readonly brokers: BrokerDescription[];
  readonly controller: number | null;
  readonly controllerEpoch: number;
  readonly clusterId: string;
}

/** KafkaJS's ITopicConfig. */
export interface TopicConfig {
  readonly topic: string;
  /** Default 1. */
  readonly numPartitions?: number;
  /** Default 3, or the number of live brokers if fewer. */
  readonly replicationFactor?: number;
  readonly configEntries?: readonly { readonly name: string; readonly value: string }[];
}

export interface CreateTopicsOptions {
  readonly topics: readonly TopicConfig[];
  /** How long to keep trying to reach the controller and see the change committed. Default 5000 ms. */
  readonly timeout?: number;
}

export interface DeleteTopicsOptions {
  readonly topics: readonly string[];
  readonly timeout?: number;
}

export interface PartitionMetadata {
  /** 0, or Kafka's LEADER_NOT_AVAILABLE (5) when the partition has no leader. */
  readonly partitionErrorCode: number;
  readonly partitionId: number;
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly replicas: number[];
  readonly isr: number[];
  /** Replicas on brokers that are fenced or unregistered. */
  readonly offlineReplicas: number[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly topicId: string;
  readonly configs: Readonly<Record<string, string>>;
  readonly partitions: PartitionMetadata[];
}

export interface PartitionOffsetsDescription {
  readonly partition: number;
  readonly offset: string;
  readonly high: string;
  readonly low: string;
  readonly logEndOffset: string;
}

const DEFAULT_TIMEOUT_MS = 5000;
const LEADER_NOT_AVAILABLE = 5;

/**
 * The admin client, shaped like KafkaJS's `kafka.admin()`. Changes go to the controller
 * (wherever it runs) and resolve once this tab's broker has the committed result, so a
 * listTopics() right after createTopics() sees the new topic. Reads come from this broker's
 * copy of the metadata log.
 */
export class Admin {
  constructor(private readonly tabka: Tabka) {}

  /** As KafkaJS: true when every topic was created, false when some already existed; other failures throw. */
  async createTopics({ topics, timeout = DEFAULT_TIMEOUT_MS }: CreateTopicsOptions): Promise<boolean> {
    const outcomes = await this.tabka.broker.createTopics(
      topics.map((t) => ({
        name: t.topic,
        ...(t.numPartitions === undefined ? {} : { numPartitions: t.numPartitions }),
        ...(t.replicationFactor === undefined ? {} : { replicationFactor: t.replicationFactor }),
        ...(t.configEntries === undefined ? {} : { configs: Object.fromEntries(t.configEntries.map((c) => [c.name, c.value])) }),
      })),
      timeout,
    );
    const errors = outcomes.map(outcomeError).filter((e) => e !== null);
    const failure = errors.find((e) => !(e instanceof TopicAlreadyExistsError));
    if (failure) throw failure;
    return errors.length === 0;
  }

  async deleteTopics({ topics, timeout = DEFAULT_TIMEOUT_MS }: DeleteTopicsOptions): Promise<void> {
    throwFirst(await this.tabka.broker.deleteTopics(topics, timeout));
  }

  async listTopics(): Promise<string[]> {
    const metadata = await this.tabka.broker.clusterMetadata();
    return metadata.topics.map((t) => t.name);
  }

  /** All topics, or the named ones (an unknown name is an UnknownTopicOrPartitionError). */
  async fetchTopicMetadata({ topics }: { topics?: readonly string[] } = {}): Promise<{ topics: TopicMetadata[] }> {
    const metadata = await this.tabka.broker.clusterMetadata();
    const active = new Set(metadata.brokers.filter((b) => b.active).map((b) => b.nodeId));
    const byName = new Map(metadata.topics.map((t) => [t.name, t]));
    const names = topics ?? metadata.topics.map((t) => t.name);
    return {
      topics: names.map((name) => {
        const topic = byName.get(name);
        if (!topic) throw new UnknownTopicOrPartitionError(name, -1);
        return {
          name,
          topicId: topic.topicId,
          configs: topic.configs,
          partitions: topic.partitions.map((p) => ({
            partitionErrorCode: p.leader < 0 ? LEADER_NOT_AVAILABLE : 0,
            partitionId: p.partition,
            leader: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicas: [...p.replicas],
            isr: [...p.isr],
            offlineReplicas: p.replicas.filter((id) => !active.has(id)),
          })),
        };
      }),
    };
  }

  /**
   * As KafkaJS: per partition, `offset` and `high` are the high watermark (the end consumers
   * see), `low` the log start; `logEndOffset` also counts records not yet on every ISR member.
   */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsetsDescription[]> {
    const metadata = await this.tabka.broker.clusterMetadata();
    const found = metadata.topics.find((t) => t.name === topic);
    if (!found) throw new UnknownTopicOrPartitionError(topic, -1);
    return Promise.all(
      found.partitions.map(async ({ partition }) => {
        const offsets = await this.tabka.broker.offsets(topic, partition);
        return {
          partition,
          offset: String(offsets.highWatermark),
          high: String(offsets.highWatermark),
          low: String(offsets.logStartOffset),
          logEndOffset: String(offsets.logEndOffset),
        };
      }),
    );
  }

  /** As KafkaJS: deletes every record before each offset (-1: the high watermark). */
  async deleteTopicRecords({ topic, partitions }: { topic: string; partitions: readonly { partition: number; offset: string }[] }): Promise<void> {
    await Promise.all(partitions.map(({ partition, offset }) => this.tabka.broker.deleteRecords(topic, partition, Number(offset))));
  }

  listGroups(): Promise<{ groups: GroupListing[] }> {
    return groups.listGroups(this.tabka.broker);
  }

  describeGroups(groupIds: readonly string[]): Promise<{ groups: GroupDescriptionResult[] }> {
    return groups.describeGroups(this.tabka.broker, groupIds);
  }

  /** As KafkaJS v2: per topic and partition, the committed offset ('-1': none), plus the lag. */
  fetchOffsets({ groupId, topics }: { groupId: string; topics?: readonly string[] }): Promise<TopicCommits[]> {
    return groups.fetchOffsets(this.tabka.broker, groupId, topics);
  }

  setOffsets({ groupId, topic, partitions }: { groupId: string; topic: string; partitions: readonly { partition: number; offset: string }[] }): Promise<void> {
    return groups.setOffsets(this.tabka.broker, groupId, topic, partitions);
  }

  resetOffsets({ groupId, topic, earliest = false }: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    return groups.resetOffsets(this.tabka.broker, groupId, topic, earliest);
  }

  deleteGroups(groupIds: readonly string[]): Promise<{ groupId: string; errorCode: string | 0 }[]> {
    return groups.deleteGroups(this.tabka.broker, groupIds);
  }

  /** As KafkaJS's describeCluster: the brokers, the controller's id and the cluster id. */
  async describeCluster(): Promise<ClusterDescription> {
    const [status, metadata] = await Promise.all([this.tabka.clusterStatus(), this.tabka.broker.clusterMetadata()]);
    const live = new Set([...status.liveMembers, status.brokerId]);
    const active = new Set(metadata.brokers.filter((b) => b.active).map((b) => b.nodeId));
    return {
      brokers: status.members.map((nodeId) => ({ nodeId, live: live.has(nodeId), active: active.has(nodeId) })),
      controller: status.controllerId,
      controllerEpoch: status.controllerEpoch,
      clusterId: this.tabka.cluster,
    };
  }
}

function throwFirst(outcomes: readonly TopicOutcome[]): void {
  for (const outcome of outcomes) {
    const error = outcomeError(outcome);
    if (error) throw error;
  }
}
