/**
 * RTCPeerConnection exists only on Window, so the mesh lives on the page and the broker in
 * its worker: frames cross between them over a MessagePort, their buffers transferred (moved,
 * not copied). This file is both ends' vocabulary and the page's end of the port.
 */
import { isBrokerId } from '../signaling/signaling-protocol';
import { ownedBytes } from '../util/owned-bytes';
import type { Mesh } from './mesh';

export type PageToBroker =
  | { readonly type: 'peer-up'; readonly brokerId: number }
  | { readonly type: 'peer-down'; readonly brokerId: number }
  | { readonly type: 'frame'; readonly from: number; readonly bytes: Uint8Array };

export type BrokerToPage =
  | { readonly type: 'send'; readonly to: number; readonly bytes: Uint8Array }
  /**
   * The broker's parting words, kept ready on the page: an unloading tab cannot wait for its
   * worker, so the page sends them itself, synchronously, on pagehide.
   */
  | { readonly type: 'goodbye'; readonly bytes: Uint8Array };

export function parsePageToBroker(value: unknown): PageToBroker | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if ((message.type === 'peer-up' || message.type === 'peer-down') && isBrokerId(message.brokerId)) {
    return { type: message.type, brokerId: message.brokerId };
  }
  if (message.type === 'frame' && isBrokerId(message.from) && message.bytes instanceof Uint8Array) {
    return { type: 'frame', from: message.from, bytes: message.bytes };
  }
  return undefined;
}

export function parseBrokerToPage(value: unknown): BrokerToPage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (message.type === 'send' && isBrokerId(message.to) && message.bytes instanceof Uint8Array) {
    return { type: 'send', to: message.to, bytes: message.bytes };
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
    mesh.on('peer-up', ({ brokerId }) => post({ type: 'peer-up', brokerId })),
    mesh.on('peer-down', ({ brokerId }) => post({ type: 'peer-down', brokerId })),
    mesh.on('frame', ({ from, bytes }) => {
      const frame = ownedBytes(bytes);
      post({ type: 'frame', from, bytes: frame }, [frame.buffer]);
    }),
  ];
  port.onmessage = (event: MessageEvent<unknown>) => {
    const message = parseBrokerToPage(event.data);
    if (message?.type === 'goodbye') goodbye = message.bytes;
    // A send to a peer that just left fails; the broker learns of it from peer-down.
    else if (message) mesh.send(message.to, message.bytes).catch(() => undefined);
  };
  for (const brokerId of mesh.connectedPeers()) post({ type: 'peer-up', brokerId });
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
