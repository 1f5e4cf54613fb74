import type { SignalData } from '../signaling/signaling-protocol';

export type { SignalData };

export interface PeerDiscoveryEvents {
  'peer-joined': { brokerId: number };
  'peer-left': { brokerId: number };
  signal: { from: number; data: SignalData };
}

/**
 * How brokers find each other and exchange WebRTC offers, answers and candidates: the
 * signaling server (SignalingClient) or, between tabs of one browser, a BroadcastChannel.
 */
export interface PeerDiscovery {
  readonly peers: readonly number[];
  on<K extends keyof PeerDiscoveryEvents>(type: K, listener: (payload: PeerDiscoveryEvents[K]) => void): () => void;
  sendSignal(to: number, data: SignalData): void;
  close(): void;
}
