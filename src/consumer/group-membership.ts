/**
 * A consumer's side of the group protocol (Kafka's ConsumerCoordinator): join, let the leader
 * run the assignor, sync, then heartbeat until the coordinator says the group rebalances.
 * Eager assignors give everything up before rejoining; cooperative ones keep what they
 * retain and give up only what moves, then rejoin once more so the moved partitions find
 * their new owner.
 *
 * The coordinator is reached through a GroupTransport and time through a Clock, so the
 * simulation runs this very code against a simulated network.
 */
import type { Assignor, GroupAssignment, MemberSubscription, TopicPartition } from './assignor';
import { withholdMovedPartitions } from './assignors/cooperative-sticky-assignor';
import type { CommittedOffset, JoinGroupRequest, MemberRequest, OffsetToCommit, SyncGroupRequest } from '../coordinator/group-coordinator';
import type { JoinGroupResponse, SyncGroupResponse } from '../coordinator/group-metadata';
import type { MemberSubscriptionMetadata } from '../coordinator/group-records';
import { IllegalGenerationError, RebalanceInProgressError, TabkaError, UnknownMemberIdError } from '../errors';

export interface GroupTransport {
  join(request: JoinGroupRequest): Promise<JoinGroupResponse>;
  sync(request: SyncGroupRequest): Promise<SyncGroupResponse>;
  heartbeat(request: MemberRequest): Promise<void>;
  leave(groupId: string, memberId: string): Promise<void>;
  commitOffsets(request: MemberRequest & { readonly offsets: readonly OffsetToCommit[] }): Promise<void>;
  fetchOffsets(groupId: string, partitions: readonly TopicPartition[]): Promise<CommittedOffset[]>;
  /** Partition counts of these topics (absent: no such topic). */
  partitionCounts(topics: readonly string[]): Promise<Record<string, number>>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** What the consumer does when its share changes. Revocation must stop and commit first. */
export interface AssignmentListener {
  revoked(partitions: readonly TopicPartition[], lost: boolean): Promise<void>;
  assigned(partitions: readonly TopicPartition[]): Promise<void>;
  joined(details: GroupJoin): void;
  rebalancing(): void;
}

export interface GroupJoin {
  readonly groupId: string;
  readonly memberId: string;
  readonly leaderId: string;
  readonly isLeader: boolean;
  readonly generationId: number;
  readonly groupProtocol: string;
  readonly memberAssignment: Record<string, number[]>;
  readonly duration: number;
}

export interface GroupMembershipOptions {
  readonly groupId: string;
  readonly clientId: string;
  readonly topics: readonly string[];
  readonly assignors: readonly Assignor[];
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly transport: GroupTransport;
  readonly clock: Clock;
  readonly listener: AssignmentListener;
  readonly retryBackoffMs?: number;
}

export class GroupMembership {
  memberId = '';
  generationId = -1;
  private owned: TopicPartition[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private needsJoin = true;
  private joining = false;

  constructor(private readonly options: GroupMembershipOptions) {}

  get assignment(): readonly TopicPartition[] {
    return this.owned;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Gives up the partitions (the listener commits) and leaves, so the group rebalances at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    // A join under way finishes first, so what we own is settled; a parked heartbeat need not.
    if (this.joining) await this.loop;
    const owned = this.owned;
    this.owned = [];
    if (owned.length > 0) await this.options.listener.revoked(owned, false).catch(() => undefined);
    if (this.memberId !== '') await this.options.transport.leave(this.options.groupId, this.memberId).catch(() => undefined);
    await this.loop;
    this.memberId = '';
    this.generationId = -1;
  }

  /** Commits for this member's generation (stale generation -> an error, never an overwrite). */
  commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    const { groupId } = this.options;
    return this.options.transport.commitOffsets({ groupId, generationId: this.generationId, memberId: this.memberId, offsets });
  }

  private get cooperative(): boolean {
    return this.options.assignors.every((a) => a.rebalanceProtocol === 'cooperative');
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.needsJoin) {
          this.joining = true;
          await this.joinAndSync().finally(() => {
            this.joining = false;
          });
        } else await this.options.transport.heartbeat({ groupId: this.options.groupId, generationId: this.generationId, memberId: this.memberId });
      } catch (error) {
        if (!this.running) return;
        await this.recover(error);
      }
    }
  }

  private async recover(error: unknown): Promise<void> {
    if (error instanceof RebalanceInProgressError) {
      this.needsJoin = true;
      this.options.listener.rebalancing();
      return;
    }
    if (error instanceof UnknownMemberIdError || error instanceof IllegalGenerationError) {
      // Our session ended or the group moved on without us: what we held may already be
      // someone else's, so it is lost, not revoked (no commit for it can succeed).
      if (error instanceof UnknownMemberIdError) this.memberId = '';
      this.generationId = -1;
      await this.loseAll();
      this.needsJoin = true;
      return;
    }
    if (!(error instanceof TabkaError) || !error.retriable) console.warn(`tabka group ${this.options.groupId}: ${String(error)}`);
    await this.options.clock.sleep(this.options.retryBackoffMs ?? 100);
  }

  private async loseAll(): Promise<void> {
    if (this.owned.length === 0) return;
    const lost = this.owned;
    this.owned = [];
    await this.options.listener.revoked(lost, true);
  }

  private async joinAndSync(): Promise<void> {
    const started = this.options.clock.now();
    if (!this.cooperative && this.owned.length > 0) {
      const revoked = this.owned;
      this.owned = [];
      await this.options.listener.revoked(revoked, false);
    }
    const { groupId, clientId, sessionTimeoutMs, rebalanceTimeoutMs } = this.options;
    const metadata: MemberSubscriptionMetadata = { topics: this.options.topics, ownedPartitions: this.owned, generation: this.generationId };
    const joined = await this.options.transport.join({
      groupId,
      memberId: this.memberId,
      clientId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      protocolType: 'consumer',
      protocols: this.options.assignors.map((a) => ({ name: a.name, metadata })),
    });
    this.memberId = joined.memberId;
    const isLeader = joined.leaderId === joined.memberId;
    const assignments = isLeader ? await this.assign(joined) : [];
    const synced = await this.options.transport.sync({ groupId, generationId: joined.generationId, memberId: this.memberId, assignments });
    this.generationId = joined.generationId;
    const next = synced.assignment;
    const revoked = this.owned.filter((tp) => !contains(next, tp));
    const added = next.filter((tp) => !contains(this.owned, tp));
    if (revoked.length > 0) {
      this.owned = this.owned.filter((tp) => contains(next, tp));
      await this.options.listener.revoked(revoked, false);
    }
    // Owned only once the consumer has taken them up: if that fails, the next join tries again.
    this.needsJoin = true;
    if (added.length > 0) await this.options.listener.assigned(added);
    this.owned = [...next];
    // Cooperative: what we gave up goes to its new owner in one more round.
    this.needsJoin = this.cooperative && revoked.length > 0;
    this.options.listener.joined({
      groupId,
      memberId: this.memberId,
      leaderId: joined.leaderId,
      isLeader,
      generationId: joined.generationId,
      groupProtocol: joined.protocolName,
      memberAssignment: byTopic(next),
      duration: this.options.clock.now() - started,
    });
  }

  private async assign(joined: JoinGroupResponse): Promise<SyncGroupRequest['assignments']> {
    const assignor = this.options.assignors.find((a) => a.name === joined.protocolName);
    if (!assignor) throw new RebalanceInProgressError(this.options.groupId);
    const members: MemberSubscription[] = [...joined.members]
      .sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
      .map(({ memberId, metadata }) => ({ memberId, ...metadata }));
    const topics = [...new Set(members.flatMap((m) => m.topics))];
    const partitionsPerTopic = await this.options.transport.partitionCounts(topics);
    let assignment: GroupAssignment = assignor.assign({ members, partitionsPerTopic });
    if (assignor.rebalanceProtocol === 'cooperative') assignment = withholdMovedPartitions(assignment, members);
    return members.map(({ memberId }) => ({ memberId, assignment: assignment.get(memberId) ?? [] }));
  }
}

function contains(list: readonly TopicPartition[], tp: TopicPartition): boolean {
  return list.some((x) => x.topic === tp.topic && x.partition === tp.partition);
}

function byTopic(partitions: readonly TopicPartition[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { topic, partition } of partitions) (out[topic] ??= []).push(partition);
  return out;
}
