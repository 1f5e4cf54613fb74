// A tab that joins the WebRTC mesh only (no broker worker), for transport tests: which peers it
// reaches, what it receives, and hooks to misbehave on purpose.
import { ApiKey } from '../../../src/protocol/api-keys';
import { DEV_SIGNALING_SECRET, SIGNALING_PATH } from '../../../src/signaling/dev-defaults';
import { SignalingClient } from '../../../src/signaling/signaling-client';
import { BroadcastDiscovery } from '../../../src/transport/broadcast-discovery';
import { Mesh } from '../../../src/transport/mesh';
import type { PeerDiscovery } from '../../../src/transport/peer-discovery';

export interface Received {
  readonly from: number;
  readonly bytes: number;
  readonly sum: number;
}

export interface MeshTab {
  readonly id: number;
  connected(): number[];
  rejected(): { brokerId: number; reason: string }[];
  downs(): { brokerId: number; reason: string }[];
  received(): Received[];
  send(to: number, bytes: number, seed: number): Promise<void>;
  /** 32 bytes whose frame header names the Election API key: they may overtake bulk frames. */
  sendElection(to: number): Promise<void>;
  sendRaw(to: number, bytes: number[]): void;
  /** Raw bytes on the link's second (negotiated) channel, the one a broker's worker reads. */
  sendRawData(to: number, bytes: number[]): void;
  close(): void;
}

const params = new URLSearchParams(location.search);
const id = Number(params.get('id'));
const cluster = params.get('cluster') ?? 'mesh';
const secret = params.get('secret') ?? 'mesh-secret';
const via = (params.get('via') ?? 'broadcast').split(',');

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum * 31 + byte) >>> 0;
  return sum;
}

const discoveries: PeerDiscovery[] = [];
if (via.includes('broadcast')) discoveries.push(new BroadcastDiscovery({ cluster, brokerId: id }));
if (via.includes('server')) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SIGNALING_PATH}`;
  discoveries.push(await SignalingClient.connect({ url, room: cluster, brokerId: id, secret: params.get('serverSecret') ?? DEV_SIGNALING_SECRET }));
}
const mesh = await Mesh.start({ cluster, localId: id, secret, discoveries });
const received: Received[] = [];
const rejected: { brokerId: number; reason: string }[] = [];
const downs: { brokerId: number; reason: string }[] = [];
mesh.on('frame', ({ from, bytes }) => received.push({ from, bytes: bytes.byteLength, sum: checksum(bytes) }));
mesh.on('peer-rejected', ({ brokerId, reason }) => rejected.push({ brokerId, reason }));
mesh.on('peer-down', ({ brokerId, reason }) => downs.push({ brokerId, reason }));

const tab: MeshTab = {
  id,
  connected: () => mesh.connectedPeers(),
  rejected: () => rejected,
  downs: () => downs,
  received: () => received,
  async send(to, size, seed) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * seed) & 0xff;
    await mesh.send(to, bytes);
  },
  async sendElection(to) {
    const bytes = new Uint8Array(32);
    new DataView(bytes.buffer).setInt16(4, ApiKey.Election);
    await mesh.send(to, bytes);
  },
  sendRaw(to, bytes) {
    // Test-only: straight onto the data channel, past the chunker, as a hostile peer would.
    const link = (mesh as unknown as { links: Map<number, { peer: { send(b: Uint8Array): void } }> }).links.get(to);
    link?.peer.send(new Uint8Array(bytes));
  },
  sendRawData(to, bytes) {
    // Test-only: this page claims no data channel, so it is still here to write garbage on.
    const link = (mesh as unknown as { links: Map<number, { dataChannel?: RTCDataChannel }> }).links.get(to);
    link?.dataChannel?.send(new Uint8Array(bytes));
  },
  close: () => mesh.close(),
};

Object.assign(window, { meshTab: tab, checksum });
document.body.dataset.ready = 'true';
