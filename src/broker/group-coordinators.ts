/**
 * Group coordination on this broker (Kafka's group coordinator runtime): a GroupCoordinator
 * for every `__consumer_offsets` partition this broker leads, loaded from the partition's log
 * when the leadership arrives and closed when it leaves; peers' group requests served by
 * them; and this tab's own group requests routed to the coordinator of their group, wherever
 * it is, retried while coordination moves. The offsets topic is created through the
 * controller the first time any group needs it, as Kafka does on the first FindCoordinator.
 */
import type { MetadataImage } from '../cluster/metadata-image';
import type { TopicPartition } from '../consumer/assignor';
import { GroupCoordinator } from '../coordinator/group-coordinator';
import type { CommittedOffset, GroupDescription, GroupOverview, JoinGroupRequest, MemberRequest, OffsetToCommit, SyncGroupRequest } from '../coordinator/group-coordinator';
import type { JoinGroupResponse, SyncGroupResponse } from '../coordinator/group-metadata';
import { CONSUMER_OFFSETS_PARTITIONS, CONSUMER_OFFSETS_TOPIC, groupRecordToInput, offsetsPartitionFor, parseGroupRecord } from '../coordinator/group-records';
import type { GroupRecord } from '../coordinator/group-records';
import {
  CoordinatorLoadInProgressError,
  NotCoordinatorError,
  NotLeaderOrFollowerError,
  PeerLinkDownError,
  UnknownTopicOrPartitionError,
} from '../errors';
import { ApiKey } from '../protocol/api-keys';
import type { FrameBody } from '../protocol/frame';
import { decompressRecordBatches } from '../protocol/compression';
import { decodeRecordBatch, encodeRecordBatch } from '../protocol/record-batch';
import { retryUntil } from '../util/retry-until';
import type { ClusterNode } from './cluster-node';
import {
  parseCommitRequest,
  parseCommittedOffsets,
  parseGroupDescription,
  parseGroupId,
  parseGroupOverviews,
  parseJoinRequest,
  parseJoinResponse,
  parseLeaveRequest,
  parseMemberRequest,
  parseOffsetFetchRequest,
  parseSetOffsetsRequest,
  parseSyncRequest,
  parseSyncResponse,
} from './group-requests';
import type { CommitRequest, GroupApi } from './group-requests';
import type { Partition } from './partition';
import type { ReplicaManager } from './replica-manager';

export interface GroupCoordinatorsOptions {
  readonly node: ClusterNode;
  readonly replicas: ReplicaManager;
  readonly now?: () => number;
}

interface Hosted {
  readonly coordinator: GroupCoordinator;
  readonly leaderEpoch: number;
}

const TICK_MS = 100;
const RETRY_BACKOFF_MS = 50;
/** How long a request keeps looking for its group's coordinator. */
const FIND_COORDINATOR_MS = 15_000;
const SLACK_MS = 5000;
const WRITE_TIMEOUT_MS = 5000;
const LOAD_BATCH_BYTES = 4 * 1024 * 1024;

export class GroupCoordinators implements GroupApi {
  private readonly hosted = new Map<number, Hosted>();
  private readonly now: () => number;
  private readonly timer: ReturnType<typeof setInterval>;
  private creatingTopic: Promise<unknown> | null = null;
  private closed = false;

  constructor(private readonly options: GroupCoordinatorsOptions) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    options.replicas.onSynced(() => this.followLeadership());
    this.serve();
  }

  private tick(): void {
    if (this.hosted.size === 0) return;
    const live = new Set(this.options.node.members);
    for (const { coordinator } of this.hosted.values()) {
      coordinator.removeMembersOutside(live);
      coordinator.tick();
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const { coordinator } of this.hosted.values()) coordinator.close();
    this.hosted.clear();
  }

  // ---------------------------------------------------------------- GroupApi (this tab's requests)

  join(request: JoinGroupRequest): Promise<JoinGroupResponse> {
    return this.route(request.groupId, ApiKey.JoinGroup, { ...request }, request.rebalanceTimeoutMs + SLACK_MS, (c) => c.join(request, this.options.node.brokerId), parseJoinResponse);
  }

  sync(request: SyncGroupRequest): Promise<SyncGroupResponse> {
    return this.route(request.groupId, ApiKey.SyncGroup, { ...request }, FIND_COORDINATOR_MS, (c) => c.sync(request), parseSyncResponse);
  }

  heartbeat(request: MemberRequest): Promise<void> {
    return this.route(request.groupId, ApiKey.Heartbeat, { ...request }, FIND_COORDINATOR_MS, (c) => c.heartbeat(request), () => undefined);
  }

  leave(groupId: string, memberId: string): Promise<void> {
    return this.route(groupId, ApiKey.LeaveGroup, { groupId, memberId }, FIND_COORDINATOR_MS, async (c) => c.leave(groupId, [memberId]), () => undefined);
  }

  commitOffsets(request: CommitRequest): Promise<void> {
    return this.route(request.groupId, ApiKey.OffsetCommit, { ...request }, FIND_COORDINATOR_MS, (c) => c.commitOffsets(request), () => undefined);
  }

  fetchOffsets(groupId: string, partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    const body = { groupId, partitions: partitions ?? null };
    return this.route(groupId, ApiKey.OffsetFetch, body, FIND_COORDINATOR_MS, async (c) => c.fetchOffsets(groupId, partitions), (reply) => parseCommittedOffsets(reply));
  }

  describeGroup(groupId: string): Promise<GroupDescription> {
    return this.route(groupId, ApiKey.DescribeGroups, { groupId }, FIND_COORDINATOR_MS, async (c) => c.describeGroup(groupId), parseGroupDescription);
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.route(groupId, ApiKey.DeleteGroups, { groupId }, FIND_COORDINATOR_MS, (c) => c.deleteGroup(groupId), () => undefined);
  }

  setOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void> {
    const request = { groupId, generationId: -1, memberId: '', offsets };
    return this.route(groupId, ApiKey.OffsetCommit, { ...request, admin: true }, FIND_COORDINATOR_MS, (c) => c.commitOffsets(request, true), () => undefined);
  }

  /** Every coordinator's groups: each live broker answers for the partitions it leads. */
  async listGroups(): Promise<GroupOverview[]> {
    const brokers = this.options.node.status().liveMembers.filter((id) => id !== this.options.node.brokerId);
    const answers = await Promise.all(
      brokers.map((id) =>
        this.options.node.peers
          .request(id, ApiKey.ListGroups, { body: {} }, SLACK_MS)
          .then((reply) => parseGroupOverviews(reply.body))
          .catch(() => [] as GroupOverview[]),
      ),
    );
    const groups = new Map<string, GroupOverview>();
    for (const group of [...this.localGroups(), ...answers.flat()]) groups.set(group.groupId, group);
    return [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
  }

  // ---------------------------------------------------------------- routing

  private route<T>(
    groupId: string,
    apiKey: ApiKey,
    body: FrameBody,
    timeoutMs: number,
    local: (coordinator: GroupCoordinator) => Promise<T>,
    parse: (reply: FrameBody) => T,
  ): Promise<T> {
    const partition = offsetsPartitionFor(groupId);
    const retry = { timeoutMs, now: this.now, backoffMs: RETRY_BACKOFF_MS, retriable: isCoordinatorMoving, what: `group request for ${groupId}` };
    return retryUntil(retry, async (remaining) => {
      const leader = await this.offsetsLeader(partition, groupId);
      if (leader === this.options.node.brokerId) return local(this.hostedFor(partition, groupId));
      // A coordinator that went silent never answers: once the metadata names another leader
      // of the group's partition, the request is retried there instead of waiting out its timeout.
      const reply = await this.options.node.untilMetadata(this.options.node.peers.request(leader, apiKey, { body }, remaining), (image) =>
        leaderOf(image, partition) === leader ? undefined : new NotCoordinatorError(groupId, leader),
      );
      return parse(reply.body);
    });
  }

  private async offsetsLeader(partition: number, groupId: string): Promise<number> {
    const image = this.options.node.image;
    if (!image.topics.has(CONSUMER_OFFSETS_TOPIC)) {
      await this.createOffsetsTopic();
      throw new CoordinatorLoadInProgressError(groupId);
    }
    const leader = leaderOf(image, partition);
    if (leader < 0) throw new NotCoordinatorError(groupId, leader);
    return leader;
  }

  private createOffsetsTopic(): Promise<unknown> {
    if (!this.creatingTopic) {
      const live = this.options.node.status().liveMembers.length;
      const topic = { name: CONSUMER_OFFSETS_TOPIC, numPartitions: CONSUMER_OFFSETS_PARTITIONS, replicationFactor: Math.max(1, Math.min(3, live)) };
      // Losing the race to another broker's request is fine: the topic exists either way.
      this.creatingTopic = this.options.node
        .createTopics([topic], FIND_COORDINATOR_MS)
        .catch(() => undefined)
        .finally(() => {
          this.creatingTopic = null;
        });
    }
    return this.creatingTopic;
  }

  private hostedFor(partition: number, groupId: string): GroupCoordinator {
    const hosted = this.hosted.get(partition);
    if (!hosted) throw new CoordinatorLoadInProgressError(groupId);
    return hosted.coordinator;
  }

  private localGroups(): GroupOverview[] {
    return [...this.hosted.values()].flatMap(({ coordinator }) => coordinator.listGroups());
  }

  // ---------------------------------------------------------------- serving peers

  private serve(): void {
    const peers = this.options.node.peers;
    const at = (groupId: string) => this.hostedFor(this.ledPartition(groupId), groupId);
    peers.handle(ApiKey.JoinGroup, async (from, { body }) => {
      const request = parseJoinRequest(body);
      return { body: { ...(await at(request.groupId).join(request, from)) } };
    });
    peers.handle(ApiKey.SyncGroup, async (_from, { body }) => {
      const request = parseSyncRequest(body);
      return { body: { ...(await at(request.groupId).sync(request)) } };
    });
    peers.handle(ApiKey.Heartbeat, async (_from, { body }) => {
      const request = parseMemberRequest(body);
      await at(request.groupId).heartbeat(request);
      return { body: {} };
    });
    peers.handle(ApiKey.LeaveGroup, async (_from, { body }) => {
      const { groupId, memberId } = parseLeaveRequest(body);
      at(groupId).leave(groupId, [memberId]);
      return { body: {} };
    });
    peers.handle(ApiKey.OffsetCommit, async (_from, { body }) => {
      if (body['admin'] === true) {
        const { groupId, offsets } = parseSetOffsetsRequest(body);
        await at(groupId).commitOffsets({ groupId, generationId: -1, memberId: '', offsets }, true);
      } else {
        const request = parseCommitRequest(body);
        await at(request.groupId).commitOffsets(request);
      }
      return { body: {} };
    });
    peers.handle(ApiKey.OffsetFetch, async (_from, { body }) => {
      const { groupId, partitions } = parseOffsetFetchRequest(body);
      return { body: { offsets: at(groupId).fetchOffsets(groupId, partitions) } };
    });
    peers.handle(ApiKey.DescribeGroups, async (_from, { body }) => {
      const groupId = parseGroupId(body);
      return { body: { ...at(groupId).describeGroup(groupId) } };
    });
    peers.handle(ApiKey.DeleteGroups, async (_from, { body }) => {
      const groupId = parseGroupId(body);
      await at(groupId).deleteGroup(groupId);
      return { body: {} };
    });
    peers.handle(ApiKey.ListGroups, async () => ({ body: { groups: this.localGroups() } }));
  }

  /** The offsets partition of a group, if this broker leads it; else the peer asked the wrong broker. */
  private ledPartition(groupId: string): number {
    const partition = offsetsPartitionFor(groupId);
    if (leaderOf(this.options.node.image, partition) !== this.options.node.brokerId) throw new NotCoordinatorError(groupId, this.options.node.brokerId);
    return partition;
  }

  // ---------------------------------------------------------------- following leadership

  private followLeadership(): void {
    if (this.closed) return;
    for (let partition = 0; partition < CONSUMER_OFFSETS_PARTITIONS; partition++) {
      const local = this.options.replicas.localPartition(CONSUMER_OFFSETS_TOPIC, partition);
      const hosted = this.hosted.get(partition);
      const leads = local?.isLeader === true;
      if (hosted && (!leads || hosted.leaderEpoch !== local?.leaderEpoch)) {
        hosted.coordinator.close();
        this.hosted.delete(partition);
      }
      if (leads && local && !this.hosted.has(partition)) this.host(partition, local);
    }
  }

  private host(partition: number, local: Partition): void {
    const coordinator = new GroupCoordinator({
      brokerId: this.options.node.brokerId,
      now: this.now,
      write: (records) => this.write(local, records),
      newMemberId: (clientId) => `${clientId}-${crypto.randomUUID()}`,
    });
    const hosted = { coordinator, leaderEpoch: local.leaderEpoch };
    this.hosted.set(partition, hosted);
    void readGroupRecords(local)
      .then((records) => coordinator.load(records))
      .catch((error: unknown) => {
        console.warn(`tabka: could not load ${CONSUMER_OFFSETS_TOPIC}-${partition}`, error);
        coordinator.close();
        if (this.hosted.get(partition) === hosted) this.hosted.delete(partition);
      });
  }

  private async write(local: Partition, records: readonly GroupRecord[]): Promise<void> {
    const now = this.now();
    const batch = encodeRecordBatch(records.map((record) => groupRecordToInput(record, now)));
    try {
      await local.produce(batch, -1, WRITE_TIMEOUT_MS);
    } catch (error) {
      // Leadership moved under us: the group must find its new coordinator.
      if (error instanceof NotLeaderOrFollowerError) throw new NotCoordinatorError(records[0]?.group ?? '', this.options.node.brokerId);
      throw error;
    }
  }
}

/** The whole partition, oldest first: a coordinator replays it to rebuild its groups. */
async function readGroupRecords(local: Partition): Promise<GroupRecord[]> {
  const records: GroupRecord[] = [];
  let offset = local.log.logStartOffset;
  while (offset < local.log.logEndOffset) {
    const { batches } = await local.log.read(offset, { maxBytes: LOAD_BATCH_BYTES });
    if (batches.length === 0) break;
    for (const bytes of await decompressRecordBatches(batches)) {
      // (Coordinators write uncompressed; a producer may still have written here with gzip.)
      const batch = decodeRecordBatch(bytes);
      for (const record of batch.records) {
        const parsed = parseGroupRecord(record.key, record.value);
        if (parsed) records.push(parsed);
      }
      offset = batch.header.baseOffset + batch.header.lastOffsetDelta + 1;
    }
  }
  return records;
}

/** The leader of a partition of __consumer_offsets: its groups' coordinator (-1: none, or no topic). */
function leaderOf(image: MetadataImage, partition: number): number {
  return image.topics.get(CONSUMER_OFFSETS_TOPIC)?.partitions[partition]?.leader ?? -1;
}

function isCoordinatorMoving(error: unknown): boolean {
  return (
    error instanceof NotCoordinatorError ||
    error instanceof CoordinatorLoadInProgressError ||
    error instanceof PeerLinkDownError ||
    error instanceof NotLeaderOrFollowerError ||
    error instanceof UnknownTopicOrPartitionError
  );
}
