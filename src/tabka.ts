import { Admin } from './admin/admin';
import { Consumer } from './consumer/consumer';
import type { ConsumerConfig } from './consumer/consumer';
import { Producer } from './producer/producer';
import type { ProducerConfig } from './producer/producer';
import { LocalBroker } from './broker/local-broker';
import type { ClusterTimings } from './broker/broker-service';
import type { ClusterStatus } from './broker/cluster-node';
import { SIGNALING_PATH } from './signaling/dev-defaults';
import { SignalingClient } from './signaling/signaling-client';
import { BroadcastDiscovery } from './transport/broadcast-discovery';
import { Mesh } from './transport/mesh';
import { connectMeshToPort } from './transport/mesh-port';
import type { MeshPortLink } from './transport/mesh-port';
import type { PeerDiscovery } from './transport/peer-discovery';

export interface JoinOptions {
  /** The cluster's name: a signaling room, a BroadcastChannel, the broker slots' namespace. */
  readonly cluster: string;
  /** Shared by every broker of the cluster; peers and the signaling server check it. */
  readonly secret: string;
  /**
   * The signaling server's WebSocket URL. Default 'auto': this page's own server at
   * /tabka/signal if there is one (as under `npm start`), else tabs of this browser only.
   * false: BroadcastChannel only.
   */
  readonly signaling?: string | 'auto' | false;
  /** Find tabs of this browser over BroadcastChannel too (default true). */
  readonly broadcast?: boolean;
  readonly timings?: ClusterTimings;
}

/**
 * A tab's membership in a tabka cluster: this tab's broker (in its worker), the WebRTC mesh
 * to the other brokers (on the page), and the clients an app uses.
 */
export interface RejectedPeer {
  readonly brokerId: number;
  readonly reason: string;
  readonly at: number;
}

/** Keeps the last 100 refusals: links start during join, before there is a Tabka to ask. */
function recordRejections(mesh: Mesh): RejectedPeer[] {
  const rejections: RejectedPeer[] = [];
  mesh.on('peer-rejected', ({ brokerId, reason }) => {
    rejections.push({ brokerId, reason, at: Date.now() });
    if (rejections.length > 100) rejections.shift();
  });
  return rejections;
}

export class Tabka {
  private readonly consumers = new Set<Consumer>();
  private crashed = false;

  private constructor(
    readonly broker: LocalBroker,
    private readonly mesh: Mesh,
    private readonly discoveries: readonly PeerDiscovery[],
    private readonly port: MeshPortLink,
    private readonly rejections: readonly RejectedPeer[],
    readonly cluster: string,
  ) {}

  /** Peers refused, and why: a link that failed authentication (a wrong secret, say), or a peer hung up on for sending malformed chunks. */
  rejectedPeers(): readonly RejectedPeer[] {
    return [...this.rejections];
  }

  static async join(options: JoinOptions): Promise<Tabka> {
    const broker = await LocalBroker.start({ cluster: options.cluster });
    const discoveries: PeerDiscovery[] = [];
    let mesh: Mesh | undefined;
    let port: MeshPortLink | undefined;
    try {
      // The mesh listens before this broker is announced anywhere: peers offer a link as soon as
      // they hear of it, and an offer that found no listener cost that link 10 s.
      const listening = await Mesh.create({ cluster: options.cluster, localId: broker.brokerId, secret: options.secret, discoveries: [] });
      mesh = listening;
      const rejections = recordRejections(listening);
      const channel = new MessageChannel();
      port = connectMeshToPort(listening, channel.port1);
      listening.listen();
      const discover = (discovery: PeerDiscovery) => {
        discoveries.push(discovery);
        listening.addDiscovery(discovery);
      };
      if (options.broadcast ?? true) discover(new BroadcastDiscovery({ cluster: options.cluster, brokerId: broker.brokerId }));
      const server = await connectSignaling(options, broker.brokerId);
      if (server) discover(server);
      await broker.joinCluster(channel.port2, options.timings);
      const tabka = new Tabka(broker, listening, discoveries, port, rejections, options.cluster);
      globalThis.addEventListener?.('pagehide', () => tabka.hangUp());
      return tabka;
    } catch (error) {
      port?.close();
      mesh?.close();
      for (const discovery of discoveries) discovery.close();
      await broker.close();
      throw error;
    }
  }

  get brokerId(): number {
    return this.broker.brokerId;
  }

  admin(): Admin {
    return new Admin(this);
  }

  /** A producer, as KafkaJS's `kafka.producer()`. */
  producer(config?: ProducerConfig): Producer {
    return new Producer(this.broker, config);
  }

  /** A consumer, as KafkaJS's `kafka.consumer({ groupId })`. */
  consumer(config: ConsumerConfig): Consumer {
    const consumer = new Consumer(this.broker, config);
    this.consumers.add(consumer);
    consumer.on('consumer.disconnect', () => this.consumers.delete(consumer));
    return consumer;
  }

  async clusterStatus(): Promise<ClusterStatus> {
    const status = await this.broker.clusterStatus();
    if (!status) throw new Error('this broker has left the cluster');
    return status;
  }

  /**
   * The tab is going away and nothing asynchronous will finish: send the broker's goodbye
   * (a LEAVE the worker keeps ready on the page) and close every peer connection, now. The
   * peers forget this broker, and a closed channel is immediate suspicion, so they need not
   * wait out the session timeout.
   */
  hangUp(): void {
    // A crashed broker says nothing more, even when its page goes away later.
    if (!this.crashed) this.port.sayGoodbye();
    // The broker has said goodbye: it must not hear its links close one by one as peers
    // failing. Seeing the controller's link go first, it would stand for controller with the
    // peers still linked, and keep that epoch in storage, above the controller's.
    this.port.close();
    this.mesh.close();
    void this.closeBroker();
  }

  /**
   * Crashes this tab's broker, for demos and tests: its worker stops dead, without a goodbye,
   * and its data channels close with it, so peers suspect it at once and move its
   * leaderships (it sent no LEAVE: to them it failed, it did not leave). The page drops its
   * connections too, so peers do not keep reconnecting to a tab with no broker. Reload to come
   * back. (A tab that hangs, worker and all, is the silent case: peers wait out the session timeout.)
   */
  crash(): void {
    this.crashed = true;
    this.port.close();
    this.broker.kill();
    this.mesh.close();
  }

  /** Leaves cleanly: the others forget this broker at once instead of waiting for a timeout. */
  async leave(): Promise<void> {
    // Consumers commit and leave their groups while the broker can still reach the coordinators.
    await Promise.all([...this.consumers].map((consumer) => consumer.disconnect().catch(() => undefined)));
    await this.closeBroker();
  }

  private async closeBroker(): Promise<void> {
    await this.broker.close();
    // The broker's LEAVE frames cross the port and the mesh after close() answers; give them a
    // moment to go out. (On pagehide this is best effort: closed channels are noticed anyway.)
    await new Promise((resolve) => setTimeout(resolve, 100));
    this.port.close();
    this.mesh.close();
    for (const discovery of this.discoveries) discovery.close();
  }
}

async function connectSignaling(options: JoinOptions, brokerId: number): Promise<PeerDiscovery | undefined> {
  const setting = options.signaling ?? 'auto';
  if (setting === false) return undefined;
  const url = setting === 'auto' ? sameOriginSignalingUrl() : setting;
  if (!url) return undefined;
  try {
    return await SignalingClient.connect({ url, room: options.cluster, brokerId, secret: options.secret });
  } catch (error) {
    // 'auto' means "if this page's server offers signaling": without one, tabs still meet locally.
    if (setting === 'auto') {
      // Said out loud: a server that refuses our secret looks, to the user, like no one else joining.
      console.warn(`tabka: no signaling through ${url} (${String(error)}); only tabs of this browser can join this cluster`);
      return undefined;
    }
    throw error;
  }
}

function sameOriginSignalingUrl(): string | undefined {
  const location = globalThis.location;
  if (!location || !location.host) return undefined;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SIGNALING_PATH}`;
}
