/**
 * The group coordinator for the groups of one `__consumer_offsets` partition, on the broker
 * that leads it (Kafka's GroupCoordinator, classic protocol): JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit and OffsetFetch, plus the admin's list/describe/delete/set.
 *
 * No I/O of its own: time comes from `now()` and `tick()`, and what must survive the broker
 * goes through `write()` — an acks=all append to the partition — before anyone is told it
 * happened. A new leader of the partition `load()`s the log and carries on where the old
 * coordinator stopped.
 */
import type { TopicPartition } from '../consumer/assignor';
import {
  CoordinatorLoadInProgressError,
  GroupIdNotFoundError,
  IllegalGenerationError,
  InconsistentGroupProtocolError,
  NonEmptyGroupError,
  NotCoordinatorError,
  RebalanceInProgressError,
  UnknownMemberIdError,
} from '../errors';
import { partitionKey } from '../log/log-store';
import { GroupMetadata } from './group-metadata';
import type { GroupMember, GroupState, JoinGroupResponse, MemberProtocol, SyncGroupResponse } from './group-metadata';
import type { GroupRecord, OffsetValue } from './group-records';

export interface JoinGroupRequest {
  readonly groupId: string;
  /** '' for a member joining for the first time: the coordinator names it. */
  readonly memberId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly MemberProtocol[];
}

export interface SyncGroupRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** The leader's assignment; empty from the others. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: readonly TopicPartition[] }[];
}

export interface MemberRequest {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
}

export interface OffsetToCommit extends TopicPartition {
  readonly offset: number;
  readonly metadata?: string | null;
}

export interface CommittedOffset extends TopicPartition {
  /** -1: nothing committed. */
  readonly offset: number;
  readonly metadata: string | null;
}

export interface GroupOverview {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
}

export interface GroupDescription extends GroupOverview {
  readonly generation: number;
  readonly protocol: string | null;
  readonly leader: string | null;
  readonly members: readonly {
    readonly memberId: string;
    readonly clientId: string;
    readonly topics: readonly string[];
    readonly assignment: readonly TopicPartition[];
  }[];
}

export interface GroupCoordinatorOptions {
  readonly brokerId: number;
  readonly now: () => number;
  /** Appends records to this coordinator's offsets partition with acks=all. */
  readonly write: (records: readonly GroupRecord[]) => Promise<void>;
  readonly newMemberId: (clientId: string) => string;
  /**
   * A heartbeat of a stable group is answered after this long, or at once when a rebalance
   * starts: members learn of a rebalance in one round trip instead of one heartbeat interval.
   */
  readonly heartbeatWaitMs?: number;
}

export const DEFAULT_HEARTBEAT_WAIT_MS = 1000;

export class GroupCoordinator {
  private readonly groups = new Map<string, GroupMetadata>();
  private readonly offsets = new Map<string, Map<string, OffsetValue & TopicPartition>>();
  private loaded = false;
  private closed = false;
  /** Writes go out one at a time, so the log holds decisions in the order they were made. */
  private writes: Promise<void> = Promise.resolve();
  private readonly heartbeatWaitMs: number;

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.heartbeatWaitMs = options.heartbeatWaitMs ?? DEFAULT_HEARTBEAT_WAIT_MS;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Replays the partition's records (oldest first); until then requests are told to wait. */
  load(records: Iterable<GroupRecord>): void {
    const now = this.options.now();
    const stored = new Map<string, GroupRecord & { type: 'group' }>();
    for (const record of records) {
      if (record.type === 'group') stored.set(record.group, record);
      else this.applyOffset(record.group, record.topic, record.partition, record.value);
    }
    for (const [groupId, record] of stored) {
      if (record.value) this.groups.set(groupId, GroupMetadata.fromValue(groupId, record.value, now));
    }
    this.loaded = true;
  }

  /** Leadership of the partition moved away: every parked request learns to look elsewhere. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) {
      const error = new NotCoordinatorError(group.groupId, this.options.brokerId);
      for (const member of group.members.values()) this.rejectWaiters(member, error);
      group.state = 'Dead';
    }
  }

  /** Expires sessions, ends rebalances that waited too long, answers due heartbeats. */
  tick(): void {
    if (!this.loaded || this.closed) return;
    const now = this.options.now();
    for (const group of this.groups.values()) {
      for (const member of [...group.members.values()]) {
        const heartbeat = member.heartbeatWaiter;
        if (heartbeat && heartbeat.until <= now) {
          member.heartbeatWaiter = null;
          heartbeat.resolve();
        }
        const waiting = member.joinWaiter !== null || member.syncWaiter !== null || member.heartbeatWaiter !== null;
        if (!waiting && now - member.lastHeard > member.sessionTimeoutMs) this.removeMember(group, member);
      }
      if (group.state === 'PreparingRebalance' && now >= group.rebalanceDeadline) this.completeJoin(group, true);
      if (group.state === 'CompletingRebalance' && now >= group.rebalanceDeadline) {
        // The leader never sent an assignment: whoever did not sync is gone, the rest rejoin.
        const silent = [...group.members.values()].filter((member) => !member.syncWaiter);
        for (const member of silent) this.removeMember(group, member, false);
        this.prepareRebalance(group);
      }
    }
  }

  // ---------------------------------------------------------------- membership

  /** `host`: the broker the request came through (-1: not tied to one). */
  join(request: JoinGroupRequest, host = -1): Promise<JoinGroupResponse> {
    return new Promise((resolve, reject) => {
      this.requireReady(request.groupId);
      let group = this.groups.get(request.groupId);
      if (!group || group.state === 'Dead') {
        if (request.memberId !== '') throw new UnknownMemberIdError(request.groupId, request.memberId);
        group = new GroupMetadata(request.groupId, request.protocolType);
        this.groups.set(request.groupId, group);
      }
      const existing = request.memberId === '' ? undefined : group.members.get(request.memberId);
      if (request.memberId !== '' && !existing) throw new UnknownMemberIdError(request.groupId, request.memberId);
      const names = request.protocols.map((p) => p.name);
      // Kafka's rule: the joiner must share a protocol that every other member supports too.
      const common = group.candidateProtocols(existing);
      const shared = common === null || common.some((name) => names.includes(name));
      if (names.length === 0 || !shared || group.protocolType !== request.protocolType) throw new InconsistentGroupProtocolError(request.groupId, names);

      const now = this.options.now();
      const member: GroupMember = existing ?? {
        memberId: this.options.newMemberId(request.clientId),
        host,
        clientId: request.clientId,
        sessionTimeoutMs: request.sessionTimeoutMs,
        rebalanceTimeoutMs: request.rebalanceTimeoutMs,
        protocols: request.protocols,
        assignment: [],
        lastHeard: now,
        joinWaiter: null,
        syncWaiter: null,
        heartbeatWaiter: null,
      };
      member.clientId = request.clientId;
      member.host = host;
      member.sessionTimeoutMs = request.sessionTimeoutMs;
      member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
      member.protocols = request.protocols;
      member.lastHeard = now;
      // A retried join replaces the one it retries; the old request's answer would be stale.
      member.joinWaiter?.reject(new RebalanceInProgressError(request.groupId));
      member.joinWaiter = { resolve, reject };
      group.members.set(member.memberId, member);
      if (group.state === 'PreparingRebalance') this.completeJoinIfReady(group);
      else this.prepareRebalance(group);
    });
  }

  sync(request: SyncGroupRequest): Promise<SyncGroupResponse> {
    return new Promise((resolve, reject) => {
      const { group, member } = this.memberOf(request);
      if (request.generationId !== group.generation) throw new IllegalGenerationError(group.groupId, request.generationId, group.generation);
      if (group.state === 'PreparingRebalance') throw new RebalanceInProgressError(group.groupId);
      member.lastHeard = this.options.now();
      if (group.state === 'Stable') {
        resolve({ protocolName: group.protocol ?? '', assignment: member.assignment });
        return;
      }
      member.syncWaiter?.reject(new RebalanceInProgressError(group.groupId));
      member.syncWaiter = { resolve, reject };
      if (member.memberId === group.leader) this.storeAssignment(group, request.assignments);
    });
  }

  heartbeat(request: MemberRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const { group, member } = this.memberOf(request);
      member.lastHeard = this.options.now();
      if (request.generationId !== group.generation) throw new IllegalGenerationError(group.groupId, request.generationId, group.generation);
      if (group.state === 'PreparingRebalance') throw new RebalanceInProgressError(group.groupId);
      member.heartbeatWaiter?.resolve();
      member.heartbeatWaiter = { resolve, reject, until: member.lastHeard + Math.min(this.heartbeatWaitMs, member.sessionTimeoutMs / 3) };
    });
  }

  leave(groupId: string, memberIds: readonly string[]): void {
    this.requireReady(groupId);
    const group = this.groups.get(groupId);
    for (const memberId of memberIds) {
      const member = group?.members.get(memberId);
      if (!group || !member) throw new UnknownMemberIdError(groupId, memberId);
      this.removeMember(group, member);
    }
  }

  /**
   * A member lives in a tab, and a tab that left the cluster (closed, or silent past the
   * cluster's session timeout) took its members along: they go now, not a session later.
   */
  removeMembersOutside(liveBrokers: ReadonlySet<number>): void {
    if (!this.loaded || this.closed) return;
    for (const group of this.groups.values()) {
      for (const member of [...group.members.values()]) {
        if (member.host >= 0 && !liveBrokers.has(member.host)) this.removeMember(group, member);
      }
    }
  }

  // ---------------------------------------------------------------- offsets

  /**
   * Commits for a member of the current generation, or — generation -1, member '' — for a
   * group with no members (a standalone consumer or the admin). A partition that another
   * member of this generation owns cannot be committed by anyone else.
   */
  async commitOffsets(request: MemberRequest & { readonly offsets: readonly OffsetToCommit[] }, admin = false): Promise<void> {
    this.requireReady(request.groupId);
    const group = this.groups.get(request.groupId);
    const standalone = request.generationId === -1 && request.memberId === '';
    if (standalone) {
      if (group && group.state !== 'Empty' && group.state !== 'Dead') {
        throw admin ? new NonEmptyGroupError(request.groupId) : new UnknownMemberIdError(request.groupId, request.memberId);
      }
    } else {
      const { member } = this.memberOf(request);
      const current = group!;
      if (request.generationId !== current.generation) throw new IllegalGenerationError(current.groupId, request.generationId, current.generation);
      if (current.state === 'CompletingRebalance') throw new RebalanceInProgressError(current.groupId);
      member.lastHeard = this.options.now();
      for (const { topic, partition } of request.offsets) {
        const owner = current.ownerOf(topic, partition);
        if (owner !== null && owner !== member.memberId) {
          throw new IllegalGenerationError(current.groupId, request.generationId, current.generation, `${topic}-${partition} belongs to another member`);
        }
      }
    }
    const commitTimestamp = this.options.now();
    const records: GroupRecord[] = request.offsets.map(({ topic, partition, offset, metadata }) => ({
      type: 'offset',
      group: request.groupId,
      topic,
      partition,
      value: { offset, metadata: metadata ?? null, commitTimestamp },
    }));
    await this.persist(request.groupId, records);
    for (const record of records) if (record.type === 'offset') this.applyOffset(record.group, record.topic, record.partition, record.value);
  }

  fetchOffsets(groupId: string, partitions?: readonly TopicPartition[]): CommittedOffset[] {
    this.requireReady(groupId);
    const committed = this.offsets.get(groupId);
    if (!partitions) return [...(committed?.values() ?? [])].map(({ topic, partition, offset, metadata }) => ({ topic, partition, offset, metadata }));
    return partitions.map(({ topic, partition }) => {
      const value = committed?.get(partitionKey(topic, partition));
      return { topic, partition, offset: value?.offset ?? -1, metadata: value?.metadata ?? null };
    });
  }

  // ---------------------------------------------------------------- admin

  listGroups(): GroupOverview[] {
    if (!this.loaded || this.closed) return [];
    const ids = new Set([...this.groups.keys(), ...this.offsets.keys()]);
    return [...ids].sort().map((groupId) => {
      const group = this.groups.get(groupId);
      return { groupId, protocolType: group?.protocolType ?? 'consumer', state: group?.state ?? 'Empty' };
    });
  }

  describeGroup(groupId: string): GroupDescription {
    this.requireReady(groupId);
    const group = this.groups.get(groupId);
    if (!group) {
      if (!this.offsets.has(groupId)) throw new GroupIdNotFoundError(groupId);
      return { groupId, protocolType: 'consumer', state: 'Empty', generation: 0, protocol: null, leader: null, members: [] };
    }
    const members = [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      topics: group.subscriptionOf(m).topics,
      assignment: m.assignment,
    }));
    return { groupId, protocolType: group.protocolType, state: group.state, generation: group.generation, protocol: group.protocol, leader: group.leader, members };
  }

  /** Kafka's DeleteGroups: only an empty group; its offsets go with it. */
  async deleteGroup(groupId: string): Promise<void> {
    this.requireReady(groupId);
    const group = this.groups.get(groupId);
    if (!group && !this.offsets.has(groupId)) throw new GroupIdNotFoundError(groupId);
    if (group && group.members.size > 0) throw new NonEmptyGroupError(groupId);
    const records: GroupRecord[] = [...(this.offsets.get(groupId)?.values() ?? [])].map(({ topic, partition }) => ({
      type: 'offset',
      group: groupId,
      topic,
      partition,
      value: null,
    }));
    records.push({ type: 'group', group: groupId, value: null });
    await this.persist(groupId, records);
    this.offsets.delete(groupId);
    const current = this.groups.get(groupId);
    if (current && current.members.size === 0) {
      current.state = 'Dead';
      this.groups.delete(groupId);
    }
  }

  // ---------------------------------------------------------------- rebalancing

  private prepareRebalance(group: GroupMetadata): void {
    if (group.state === 'CompletingRebalance') {
      for (const member of group.members.values()) {
        member.syncWaiter?.reject(new RebalanceInProgressError(group.groupId));
        member.syncWaiter = null;
      }
    }
    group.state = 'PreparingRebalance';
    group.rebalanceDeadline = this.options.now() + Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    for (const member of group.members.values()) {
      member.heartbeatWaiter?.reject(new RebalanceInProgressError(group.groupId));
      member.heartbeatWaiter = null;
    }
    this.completeJoinIfReady(group);
  }

  private completeJoinIfReady(group: GroupMetadata): void {
    if (group.state === 'PreparingRebalance' && group.allRejoined()) this.completeJoin(group, false);
  }

  /**
   * Starts the next generation with the members that rejoined. The generation is stored
   * before anyone hears of it, so a coordinator that takes over never hands out the same
   * generation number twice.
   */
  private completeJoin(group: GroupMetadata, deadlinePassed: boolean): void {
    if (deadlinePassed) {
      for (const member of [...group.members.values()]) if (!member.joinWaiter) this.removeMember(group, member, false);
    }
    group.generation += 1;
    for (const member of group.members.values()) member.assignment = [];
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocol = null;
      group.leader = null;
      this.persistQuietly(group.groupId, [{ type: 'group', group: group.groupId, value: group.toValue(true) }]);
      return;
    }
    group.protocol = group.selectProtocol();
    if (group.leader === null || !group.members.has(group.leader)) group.leader = group.members.keys().next().value ?? null;
    group.state = 'CompletingRebalance';
    group.rebalanceDeadline = this.options.now() + Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    const generation = group.generation;
    const joined = [...group.members.values()].map((member) => {
      const waiter = member.joinWaiter;
      member.joinWaiter = null;
      // Its join was pending until now: it was alive all along, however long the round took.
      member.lastHeard = this.options.now();
      return { member, waiter };
    });
    this.persist(group.groupId, [{ type: 'group', group: group.groupId, value: group.toValue(false) }]).then(
      () => {
        const current = group.generation === generation && group.state === 'CompletingRebalance';
        const everyone = [...group.members.values()].map((m) => ({ memberId: m.memberId, metadata: group.subscriptionOf(m) }));
        let reparked = false;
        for (const { member, waiter } of joined) {
          if (!waiter) continue;
          if (!current) {
            // Overtaken by the next round: a member still in the group takes part in that one
            // with the same request, so a new member is not orphaned before it knows its id.
            if (group.state === 'PreparingRebalance' && group.members.get(member.memberId) === member && !member.joinWaiter) {
              member.joinWaiter = waiter;
              reparked = true;
            } else {
              waiter.reject(new RebalanceInProgressError(group.groupId));
            }
            continue;
          }
          member.lastHeard = this.options.now();
          waiter.resolve({
            generationId: generation,
            protocolName: group.protocol ?? '',
            leaderId: group.leader ?? '',
            memberId: member.memberId,
            members: member.memberId === group.leader ? everyone : [],
          });
        }
        if (reparked) this.completeJoinIfReady(group);
      },
      (error: unknown) => {
        for (const { waiter } of joined) waiter?.reject(asError(error));
        if (group.generation === generation && group.state === 'CompletingRebalance') this.prepareRebalance(group);
      },
    );
  }

  private storeAssignment(group: GroupMetadata, assignments: SyncGroupRequest['assignments']): void {
    const generation = group.generation;
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    for (const member of group.members.values()) member.assignment = byMember.get(member.memberId) ?? [];
    this.persist(group.groupId, [{ type: 'group', group: group.groupId, value: group.toValue(true) }]).then(
      () => {
        if (group.generation !== generation || group.state !== 'CompletingRebalance') return;
        group.state = 'Stable';
        for (const member of group.members.values()) {
          const waiter = member.syncWaiter;
          member.syncWaiter = null;
          member.lastHeard = this.options.now();
          waiter?.resolve({ protocolName: group.protocol ?? '', assignment: member.assignment });
        }
      },
      (error: unknown) => {
        if (group.generation !== generation || group.state !== 'CompletingRebalance') return;
        for (const member of group.members.values()) {
          member.assignment = [];
          member.syncWaiter?.reject(asError(error));
          member.syncWaiter = null;
        }
        this.prepareRebalance(group);
      },
    );
  }

  private removeMember(group: GroupMetadata, member: GroupMember, rebalance = true): void {
    this.rejectWaiters(member, new UnknownMemberIdError(group.groupId, member.memberId));
    group.members.delete(member.memberId);
    if (group.leader === member.memberId) group.leader = null;
    if (!rebalance) return;
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    else if (group.state === 'PreparingRebalance') this.completeJoinIfReady(group);
  }

  private rejectWaiters(member: GroupMember, error: Error): void {
    member.joinWaiter?.reject(error);
    member.syncWaiter?.reject(error);
    member.heartbeatWaiter?.reject(error);
    member.joinWaiter = null;
    member.syncWaiter = null;
    member.heartbeatWaiter = null;
  }

  // ---------------------------------------------------------------- plumbing

  private memberOf(request: MemberRequest): { group: GroupMetadata; member: GroupMember } {
    this.requireReady(request.groupId);
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (!group || !member || group.state === 'Dead') throw new UnknownMemberIdError(request.groupId, request.memberId);
    return { group, member };
  }

  private requireReady(groupId: string): void {
    if (this.closed) throw new NotCoordinatorError(groupId, this.options.brokerId);
    if (!this.loaded) throw new CoordinatorLoadInProgressError(groupId);
  }

  private persist(groupId: string, records: readonly GroupRecord[]): Promise<void> {
    const written = this.writes.then(() => {
      if (this.closed) throw new NotCoordinatorError(groupId, this.options.brokerId);
      return this.options.write(records);
    });
    this.writes = written.catch(() => undefined);
    return written;
  }

  private persistQuietly(groupId: string, records: readonly GroupRecord[]): void {
    // An empty group's record only saves a rebalance after a failover; losing it loses nothing.
    this.persist(groupId, records).catch(() => undefined);
  }

  private applyOffset(groupId: string, topic: string, partition: number, value: OffsetValue | null): void {
    let committed = this.offsets.get(groupId);
    if (value === null) {
      committed?.delete(partitionKey(topic, partition));
      if (committed?.size === 0) this.offsets.delete(groupId);
      return;
    }
    if (!committed) this.offsets.set(groupId, (committed = new Map()));
    committed.set(partitionKey(topic, partition), { ...value, topic, partition });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

