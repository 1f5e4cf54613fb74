/**
 * One consumer group as its coordinator holds it (Kafka's GroupMetadata): the state of its
 * rebalance, the generation, the members with what they subscribe to and what they were
 * assigned, and the requests parked until the rebalance moves on. Plain data and small
 * rules; the coordinator decides when things happen.
 */
import type { TopicPartition } from '../consumer/assignor';
import type { GroupMetadataValue, MemberSubscriptionMetadata, StoredMember } from './group-records';

/**
 * Empty: no members (offsets may remain). PreparingRebalance: waiting for every member to
 * rejoin. CompletingRebalance: joined, waiting for the leader's assignment. Stable: everyone
 * has an assignment. Dead: deleted, or its coordinator moved away.
 */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface MemberProtocol {
  readonly name: string;
  readonly metadata: MemberSubscriptionMetadata;
}

export interface JoinGroupResponse {
  readonly generationId: number;
  readonly protocolName: string;
  readonly leaderId: string;
  readonly memberId: string;
  /** Every member's subscription under the chosen protocol: for the leader only, as in Kafka. */
  readonly members: readonly { readonly memberId: string; readonly metadata: MemberSubscriptionMetadata }[];
}

export interface SyncGroupResponse {
  readonly protocolName: string;
  readonly assignment: readonly TopicPartition[];
}

export interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

export interface GroupMember {
  readonly memberId: string;
  /** The broker (tab) the member's requests come through: when it leaves, so does the member. */
  host: number;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: readonly MemberProtocol[];
  assignment: readonly TopicPartition[];
  lastHeard: number;
  joinWaiter: Waiter<JoinGroupResponse> | null;
  syncWaiter: Waiter<SyncGroupResponse> | null;
  heartbeatWaiter: (Waiter<void> & { readonly until: number }) | null;
}

export class GroupMetadata {
  state: GroupState = 'Empty';
  generation = 0;
  protocol: string | null = null;
  leader: string | null = null;
  /** Insertion order: the first member to join leads when the old leader is gone. */
  readonly members = new Map<string, GroupMember>();
  rebalanceDeadline = 0;

  constructor(
    readonly groupId: string,
    readonly protocolType: string,
  ) {}

  /**
   * Protocols every member (but `except`) supports; a joiner must share at least one. Null when
   * there is no such member to agree with.
   */
  candidateProtocols(except?: GroupMember): string[] | null {
    let candidates: string[] | null = null;
    for (const member of this.members.values()) {
      if (member === except) continue;
      const names = member.protocols.map((p) => p.name);
      candidates = candidates === null ? names : candidates.filter((name) => names.includes(name));
    }
    return candidates;
  }

  /** Kafka's selectProtocol: each member votes for its first choice among the candidates. */
  selectProtocol(): string | null {
    const candidates = this.candidateProtocols() ?? [];
    const votes = new Map<string, number>(candidates.map((name) => [name, 0]));
    for (const member of this.members.values()) {
      const choice = member.protocols.find((p) => votes.has(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best: string | null = null;
    for (const [name, count] of votes) if (best === null || count > (votes.get(best) ?? 0)) best = name;
    return best;
  }

  subscriptionOf(member: GroupMember): MemberSubscriptionMetadata {
    const chosen = member.protocols.find((p) => p.name === this.protocol) ?? member.protocols[0];
    return chosen?.metadata ?? { topics: [], ownedPartitions: [], generation: -1 };
  }

  allRejoined(): boolean {
    for (const member of this.members.values()) if (!member.joinWaiter) return false;
    return true;
  }

  /** The member of the current generation that was assigned this partition, if any. */
  ownerOf(topic: string, partition: number): string | null {
    for (const member of this.members.values()) {
      if (member.assignment.some((tp) => tp.topic === topic && tp.partition === partition)) return member.memberId;
    }
    return null;
  }

  toValue(assigned: boolean): GroupMetadataValue {
    const members: StoredMember[] = [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      host: m.host,
      clientId: m.clientId,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      subscription: this.subscriptionOf(m),
      assignment: m.assignment,
    }));
    return { protocolType: this.protocolType, generation: this.generation, protocol: this.protocol, leader: this.leader, assigned, members };
  }

  /** A group read back from __consumer_offsets: its members get a fresh session to find us. */
  static fromValue(groupId: string, value: GroupMetadataValue, now: number): GroupMetadata {
    const group = new GroupMetadata(groupId, value.protocolType);
    group.generation = value.generation;
    group.protocol = value.protocol;
    group.leader = value.leader;
    for (const stored of value.members) {
      group.members.set(stored.memberId, {
        memberId: stored.memberId,
        host: stored.host,
        clientId: stored.clientId,
        sessionTimeoutMs: stored.sessionTimeoutMs,
        rebalanceTimeoutMs: stored.rebalanceTimeoutMs,
        protocols: [{ name: value.protocol ?? '', metadata: stored.subscription }],
        assignment: stored.assignment,
        lastHeard: now,
        joinWaiter: null,
        syncWaiter: null,
        heartbeatWaiter: null,
      });
    }
    // A group stored mid-rebalance (joined, not yet synced) has no assignment: members rejoin.
    group.state = value.members.length === 0 ? 'Empty' : value.assigned ? 'Stable' : 'PreparingRebalance';
    group.rebalanceDeadline = now + Math.max(0, ...value.members.map((m) => m.rebalanceTimeoutMs));
    return group;
  }
}
