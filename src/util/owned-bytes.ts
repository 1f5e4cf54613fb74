/**
 * `bytes` if it spans its whole ArrayBuffer, else a copy that does. Transferring or storing a
 * view hands over (or structured-clones) its entire buffer, so a view over a bigger buffer is
 * cut out first.
 */
export function ownedBytes(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return whole ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
