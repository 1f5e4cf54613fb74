/**
 * The group requests a broker sends to a group's coordinator (Kafka's JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups)
 * and their answers. A peer's body is untrusted: every parser checks the shape and throws
 * InvalidRequestError.
 */
import type { TopicPartition } from '../consumer/assignor';
import type {
  CommittedOffset,
  GroupDescription,
  GroupOverview,
  JoinGroupRequest,
  MemberRequest,
  OffsetToCommit,
  SyncGroupRequest,
} from '../coordinator/group-coordinator';
import type { GroupState, JoinGroupResponse, MemberProtocol, SyncGroupResponse } from '../coordinator/group-metadata';
import { asSubscription, asTopicPartitions } from '../coordinator/group-records';
import { InvalidRequestError } from '../errors';
import type { FrameBody } from '../protocol/frame';

export type CommitRequest = MemberRequest & { readonly offsets: readonly OffsetToCommit[] };

/** Everything a client asks of group coordinators, wherever they are. */
export interface GroupApi {
  join(request: JoinGroupRequest): Promise<JoinGroupResponse>;
  sync(request: SyncGroupRequest): Promise<SyncGroupResponse>;
  heartbeat(request: MemberRequest): Promise<void>;
  leave(groupId: string, memberId: string): Promise<void>;
  commitOffsets(request: CommitRequest): Promise<void>;
  fetchOffsets(groupId: string, partitions?: readonly TopicPartition[]): Promise<CommittedOffset[]>;
  listGroups(): Promise<GroupOverview[]>;
  describeGroup(groupId: string): Promise<GroupDescription>;
  deleteGroup(groupId: string): Promise<void>;
  /** The admin's offsets for a group without members (Kafka's resetOffsets / setOffsets). */
  setOffsets(groupId: string, offsets: readonly OffsetToCommit[]): Promise<void>;
}

const MAX_ITEMS = 10_000;
const MAX_STRING = 1000;
const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

function fail(reason: string): never {
  throw new InvalidRequestError(reason);
}

function text(body: FrameBody, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length > MAX_STRING) fail(`${key} must be a string`);
  return value;
}

function nullableText(body: FrameBody, key: string): string | null {
  return body[key] === null ? null : text(body, key);
}

function integer(body: FrameBody, key: string, min: number): number {
  const value = body[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(`${key} must be an integer >= ${min}`);
  return value;
}

function items(body: FrameBody, key: string): FrameBody[] {
  const value = body[key];
  if (!Array.isArray(value) || value.length > MAX_ITEMS) fail(`${key} must be an array`);
  return value.map((item) => (typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as FrameBody) : fail(`${key} holds a non-object`)));
}

function partitions(value: unknown, key: string): TopicPartition[] {
  const parsed = asTopicPartitions(value);
  if (!parsed || parsed.length > MAX_ITEMS) fail(`${key} must be a list of topic partitions`);
  return parsed;
}

export function parseGroupId(body: FrameBody): string {
  return text(body, 'groupId');
}

export function parseMemberRequest(body: FrameBody): MemberRequest {
  return { groupId: text(body, 'groupId'), generationId: integer(body, 'generationId', -1), memberId: text(body, 'memberId') };
}

export function parseJoinRequest(body: FrameBody): JoinGroupRequest {
  const protocols: MemberProtocol[] = items(body, 'protocols').map((item) => {
    const metadata = asSubscription(item['metadata']);
    if (!metadata) fail('a protocol needs subscription metadata');
    return { name: text(item, 'name'), metadata };
  });
  return {
    groupId: text(body, 'groupId'),
    memberId: text(body, 'memberId'),
    clientId: text(body, 'clientId'),
    sessionTimeoutMs: integer(body, 'sessionTimeoutMs', 1),
    rebalanceTimeoutMs: integer(body, 'rebalanceTimeoutMs', 1),
    protocolType: text(body, 'protocolType'),
    protocols,
  };
}

export function parseJoinResponse(body: FrameBody): JoinGroupResponse {
  const members = items(body, 'members').map((item) => {
    const metadata = asSubscription(item['metadata']);
    if (!metadata) fail('a member needs subscription metadata');
    return { memberId: text(item, 'memberId'), metadata };
  });
  return {
    generationId: integer(body, 'generationId', 0),
    protocolName: text(body, 'protocolName'),
    leaderId: text(body, 'leaderId'),
    memberId: text(body, 'memberId'),
    members,
  };
}

export function parseSyncRequest(body: FrameBody): SyncGroupRequest {
  const assignments = items(body, 'assignments').map((item) => ({ memberId: text(item, 'memberId'), assignment: partitions(item['assignment'], 'assignment') }));
  return { ...parseMemberRequest(body), assignments };
}

export function parseSyncResponse(body: FrameBody): SyncGroupResponse {
  return { protocolName: text(body, 'protocolName'), assignment: partitions(body['assignment'], 'assignment') };
}

export function parseLeaveRequest(body: FrameBody): { groupId: string; memberId: string } {
  return { groupId: text(body, 'groupId'), memberId: text(body, 'memberId') };
}

function offsetsToCommit(body: FrameBody): OffsetToCommit[] {
  return items(body, 'offsets').map((item) => ({
    topic: text(item, 'topic'),
    partition: integer(item, 'partition', 0),
    offset: integer(item, 'offset', 0),
    metadata: item['metadata'] === undefined ? null : nullableText(item, 'metadata'),
  }));
}

export function parseCommitRequest(body: FrameBody): CommitRequest {
  return { ...parseMemberRequest(body), offsets: offsetsToCommit(body) };
}

export function parseSetOffsetsRequest(body: FrameBody): { groupId: string; offsets: OffsetToCommit[] } {
  return { groupId: text(body, 'groupId'), offsets: offsetsToCommit(body) };
}

export function parseOffsetFetchRequest(body: FrameBody): { groupId: string; partitions?: TopicPartition[] } {
  const groupId = text(body, 'groupId');
  return body['partitions'] === undefined || body['partitions'] === null ? { groupId } : { groupId, partitions: partitions(body['partitions'], 'partitions') };
}

export function parseCommittedOffsets(body: FrameBody): CommittedOffset[] {
  return items(body, 'offsets').map((item) => ({
    topic: text(item, 'topic'),
    partition: integer(item, 'partition', 0),
    offset: integer(item, 'offset', -1),
    metadata: nullableText(item, 'metadata'),
  }));
}

function groupState(body: FrameBody): GroupState {
  const state = text(body, 'state');
  return (GROUP_STATES as readonly string[]).includes(state) ? (state as GroupState) : fail(`unknown group state ${state}`);
}

export function parseGroupOverviews(body: FrameBody): GroupOverview[] {
  return items(body, 'groups').map((item) => ({ groupId: text(item, 'groupId'), protocolType: text(item, 'protocolType'), state: groupState(item) }));
}

export function parseGroupDescription(body: FrameBody): GroupDescription {
  const members = items(body, 'members').map((item) => {
    const topics = item['topics'];
    if (!Array.isArray(topics) || !topics.every((t) => typeof t === 'string')) fail('member topics must be strings');
    return { memberId: text(item, 'memberId'), clientId: text(item, 'clientId'), topics: topics as string[], assignment: partitions(item['assignment'], 'assignment') };
  });
  return {
    groupId: text(body, 'groupId'),
    protocolType: text(body, 'protocolType'),
    state: groupState(body),
    generation: integer(body, 'generation', 0),
    protocol: nullableText(body, 'protocol'),
    leader: nullableText(body, 'leader'),
    members,
  };
}
