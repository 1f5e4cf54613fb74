/**
 * The join token for a room: HMAC-SHA256(secret, label + room), base64url. It shows the
 * server that a tab knows the room's secret without sending the secret, and a token for one
 * room is useless in another. The label keeps these MACs from ever matching a MAC the same
 * secret makes for another purpose (peers authenticate each other with it separately).
 */

export const ROOM_TOKEN_LABEL = 'tabka/signaling/room-token/v1\u0000';

/** The bytes the HMAC covers; shared with the server's node:crypto check. */
export function roomTokenInput(room: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(ROOM_TOKEN_LABEL + room);
}

export async function deriveRoomToken(secret: string, room: string): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  // WebCrypto is only exposed to secure contexts: https or localhost.
  if (!subtle) throw new TypeError('WebCrypto (crypto.subtle) is unavailable: serve the page over https or from localhost');
  const key = await subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await subtle.sign('HMAC', key, roomTokenInput(room));
  return toBase64Url(new Uint8Array(mac));
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
