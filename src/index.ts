// tabka's public entry: what an app imports. Each module has one job; this file only re-exports.
export * from './errors';
export { LocalBroker } from './broker/local-broker';
export type { LocalBrokerOptions } from './broker/local-broker';
export type { BrokerInfo } from './broker/broker-service';
export {
  encodeRecordBatch,
  decodeRecordBatch,
  splitRecordBatches,
  verifyRecordBatch,
} from './protocol/record-batch';
export type { RecordInput, RecordHeader, DecodedRecord, DecodedBatch, BatchHeader, BatchOptions } from './protocol/record-batch';
export { CompressionTypes, compressRecordBatch, decompressRecordBatch } from './protocol/compression';
export type { CompressionType } from './protocol/compression';
export { validateTopicName, MAX_TOPIC_NAME_LENGTH } from './protocol/topic-name';
export { Partitioner, Partitioners } from './producer/partitioner';
export { murmur2, toPositive } from './producer/murmur2';
export { DEFAULT_LOG_CONFIG } from './log/log-config';
export type { LogConfig } from './log/log-config';
export type { AppendOptions, AppendResult, ReadOptions, ReadResult, PartitionSummary, RetentionResult } from './log/partition-log';
export type { EpochEntry } from './log/leader-epoch-cache';
export { Tabka } from './tabka';
export type { JoinOptions, RejectedPeer } from './tabka';
export { Admin } from './admin/admin';
export type {
  ClusterDescription,
  BrokerDescription,
  CreateTopicsOptions,
  DeleteTopicsOptions,
  TopicConfig,
  TopicMetadata,
  PartitionMetadata,
} from './admin/admin';
export type { ClusterStatus, ClusterEventRecord, ClusterMetadata } from './broker/cluster-node';
export type { ClusterEvent } from './cluster/cluster-member';
export { Producer } from './producer/producer';
export type { ProducerConfig, ProducerRecord, ProducerBatch, Message, RecordMetadata } from './producer/producer';
export { Consumer, CONSUMER_EVENTS } from './consumer/consumer';
export type {
  ConsumerConfig,
  ConsumerEvent,
  ConsumerEvents,
  OffsetResetPolicy,
  KafkaMessage,
  EachMessagePayload,
  EachBatchPayload,
  Batch,
  RunConfig,
  TopicPartitions,
  TopicPartitionOffset,
} from './consumer/consumer';
export { Assignors, rangeAssignor, roundRobinAssignor, cooperativeStickyAssignor, withholdMovedPartitions } from './consumer/assignors/index';
export type { Assignor, AssignmentContext, GroupAssignment, MemberSubscription, RebalanceProtocol, TopicPartition } from './consumer/assignor';
export type { GroupJoin } from './consumer/group-membership';
export { CONSUMER_OFFSETS_TOPIC, offsetsPartitionFor } from './coordinator/group-records';
export type { GroupState } from './coordinator/group-metadata';
export type { GroupListing, GroupDescriptionResult, GroupMemberDescription, TopicCommits, PartitionCommit } from './admin/group-admin';
export type { ReplicaStatus } from './broker/replica-manager';
export type { PartitionOffsets } from './broker/data-requests';
export { SignalingClient } from './signaling/signaling-client';
export { deriveRoomToken } from './signaling/room-token';
export { SIGNALING_PATH, DEV_SIGNALING_SECRET } from './signaling/dev-defaults';
