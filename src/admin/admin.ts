import type { Tabka } from '../tabka';

export interface BrokerDescription {
  readonly nodeId: number;
  /** Whether this broker is reachable from here now (a crashed one stays a member until it leaves). */
  readonly live: boolean;
}

export interface ClusterDescription {
  readonly brokers: BrokerDescription[];
  readonly controller: number | null;
  readonly controllerEpoch: number;
  readonly clusterId: string;
}

/** The admin client, shaped like KafkaJS's `kafka.admin()`; it grows with the cluster's features. */
export class Admin {
  constructor(private readonly tabka: Tabka) {}

  /** As KafkaJS's describeCluster: the brokers, the controller's id and the cluster id. */
  async describeCluster(): Promise<ClusterDescription> {
    const status = await this.tabka.clusterStatus();
    const live = new Set([...status.liveMembers, status.brokerId]);
    return {
      brokers: status.members.map((nodeId) => ({ nodeId, live: live.has(nodeId) })),
      controller: status.controllerId,
      controllerEpoch: status.controllerEpoch,
      clusterId: this.tabka.cluster,
    };
  }
}
