/**
 * API keys of tabka's broker-to-broker frames. Where Kafka has the same request, the number is
 * Kafka's; tabka's own (controller election, heartbeats) start at 1000.
 */
export enum ApiKey {
  Produce = 0,
  Fetch = 1,
  ListOffsets = 2,
  Metadata = 3,
  OffsetCommit = 8,
  OffsetFetch = 9,
  FindCoordinator = 10,
  JoinGroup = 11,
  Heartbeat = 12,
  LeaveGroup = 13,
  SyncGroup = 14,
  DescribeGroups = 15,
  ListGroups = 16,
  CreateTopics = 19,
  DeleteTopics = 20,
  DeleteRecords = 21,
  OffsetsForLeaderEpoch = 23,
  SaslAuthenticate = 36,
  DeleteGroups = 42,
  AlterPartition = 56,
  Election = 1000,
  /** Replication of the metadata log (KRaft's Fetch on the controller quorum). */
  MetadataQuorum = 1001,
}
