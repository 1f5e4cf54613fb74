/**
 * RTCPeerConnection exists only on Window, so the mesh (connections, authentication) lives on
 * the page and the broker in its worker. Each connection's data channel is transferred to the
 * worker as it is made, so the cluster's frames go between workers without the page; over the
 * MessagePort go the channels, who is up or down, the goodbye the page keeps ready, and the
 * page's own frames (a peer's goodbye). This file is both ends' vocabulary and the page's end.
 */
import { isBrokerId } from '../signaling/signaling-protocol';
import { ownedBytes } from '../util/owned-bytes';
import type { WorkerDataChannel } from './data-channels';
import type { Mesh } from './mesh';

/** `linkId` names one connection to the peer: a message about an older one is ignored. */
export type PageToBroker =
  /** A new connection's data channel (not yet authenticated: see DataChannels). */
  | { readonly type: 'channel'; readonly brokerId: number; readonly linkId: number; readonly channel: WorkerDataChannel }
  | { readonly type: 'peer-up'; readonly brokerId: number; readonly linkId: number }
  /** Discovery named this peer; its connection may be a while (a broker founds no cluster beside it). */
  | { readonly type: 'peer-announced'; readonly brokerId: number }
  /** The connection closed; `wasUp` false: it never authenticated (its channel is dropped, nothing more). */
  | { readonly type: 'peer-down'; readonly brokerId: number; readonly linkId: number; readonly wasUp: boolean }
  | { readonly type: 'frame'; readonly from: number; readonly bytes: Uint8Array };

export type BrokerToPage =
  /** The peer misbehaved on this connection's data channel, or it closed: hang up on it. */
  | { readonly type: 'drop'; readonly brokerId: number; readonly linkId: number; readonly reason: string }
  /**
   * The broker's parting words, kept ready on the page: an unloading tab cannot wait for its
   * worker, so the page sends them itself, synchronously, on pagehide.
   */
  | { readonly type: 'goodbye'; readonly bytes: Uint8Array };

export function parsePageToBroker(value: unknown): PageToBroker | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (message.type === 'peer-up' && isBrokerId(message.brokerId) && isLinkId(message.linkId)) {
    return { type: 'peer-up', brokerId: message.brokerId, linkId: message.linkId };
  }
  if (message.type === 'peer-announced' && isBrokerId(message.brokerId)) return { type: 'peer-announced', brokerId: message.brokerId };
  if (message.type === 'peer-down' && isBrokerId(message.brokerId) && isLinkId(message.linkId) && typeof message.wasUp === 'boolean') {
    return { type: 'peer-down', brokerId: message.brokerId, linkId: message.linkId, wasUp: message.wasUp };
  }
  if (message.type === 'frame' && isBrokerId(message.from) && message.bytes instanceof Uint8Array) {
    return { type: 'frame', from: message.from, bytes: message.bytes };
  }
  if (message.type === 'channel' && isBrokerId(message.brokerId) && isLinkId(message.linkId) && isDataChannel(message.channel)) {
    return { type: 'channel', brokerId: message.brokerId, linkId: message.linkId, channel: message.channel };
  }
  return undefined;
}

function isLinkId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function isDataChannel(value: unknown): value is WorkerDataChannel {
  const channel = value as Partial<WorkerDataChannel> | null;
  return typeof channel === 'object' && channel !== null && typeof channel.send === 'function' && typeof channel.readyState === 'string';
}

export function parseBrokerToPage(value: unknown): BrokerToPage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (message.type === 'drop' && isBrokerId(message.brokerId) && isLinkId(message.linkId) && typeof message.reason === 'string') {
    return { type: 'drop', brokerId: message.brokerId, linkId: message.linkId, reason: message.reason };
  }
  if (message.type === 'goodbye' && message.bytes instanceof Uint8Array) return { type: 'goodbye', bytes: message.bytes };
  return undefined;
}

export interface MeshPortLink {
  /** Sends the broker's latest goodbye to every connected peer, now. */
  sayGoodbye(): void;
  /** Unwires the mesh from the port. */
  close(): void;
}

/** Wires the page's mesh to the broker's end of `port`. */
export function connectMeshToPort(mesh: Mesh, port: MessagePort): MeshPortLink {
  let goodbye: Uint8Array | undefined;
  const post = (message: PageToBroker, transfer: Transferable[] = []) => port.postMessage(message, transfer);
  const offs = [
    mesh.on('data-channel', ({ brokerId, linkId, channel }) => {
      try {
        // Transferred in the task that made it, as Chromium requires.
        port.postMessage({ type: 'channel', brokerId, linkId, channel }, [channel as unknown as Transferable]);
      } catch (error) {
        // Browsers that cannot move a data channel to a worker cannot run a broker's links.
        const reason = `this browser cannot hand a data channel to the broker's worker (${error instanceof Error ? error.message : String(error)})`;
        console.error(`tabka: ${reason}`);
        queueMicrotask(() => mesh.refuse(brokerId, linkId, reason));
      }
    }),
    mesh.on('peer-discovered', ({ brokerId }) => post({ type: 'peer-announced', brokerId })),
    mesh.on('peer-up', ({ brokerId, linkId }) => post({ type: 'peer-up', brokerId, linkId })),
    mesh.on('peer-down', ({ brokerId, linkId }) => post({ type: 'peer-down', brokerId, linkId, wasUp: true })),
    mesh.on('peer-rejected', ({ brokerId, linkId }) => post({ type: 'peer-down', brokerId, linkId, wasUp: false })),
    mesh.on('frame', ({ from, bytes }) => {
      const frame = ownedBytes(bytes);
      post({ type: 'frame', from, bytes: frame }, [frame.buffer]);
    }),
  ];
  port.onmessage = (event: MessageEvent<unknown>) => {
    const message = parseBrokerToPage(event.data);
    if (message?.type === 'goodbye') goodbye = message.bytes;
    else if (message?.type === 'drop') mesh.refuse(message.brokerId, message.linkId, message.reason);
  };
  for (const brokerId of mesh.discoveredPeers()) post({ type: 'peer-announced', brokerId });
  for (const { brokerId, linkId } of mesh.openLinks()) post({ type: 'peer-up', brokerId, linkId });
  return {
    sayGoodbye: () => {
      if (goodbye) mesh.broadcastNow(goodbye);
    },
    close: () => {
      for (const off of offs) off();
      port.onmessage = null;
      port.close();
    },
  };
}
