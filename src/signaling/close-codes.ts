/**
 * WebSocket close codes the signaling server uses. 4000-4999 is the range RFC 6455 leaves
 * to applications, so a client can tell a tabka refusal from a network failure.
 */
export const CloseCode = {
  /** Standard: the client sent `leave`. */
  NORMAL: 1000,
  /** Standard: the server is shutting down. */
  GOING_AWAY: 1001,
  BAD_TOKEN: 4001,
  MALFORMED_MESSAGE: 4002,
  ROOM_FULL: 4003,
  TOO_MANY_ROOMS: 4004,
  DUPLICATE_BROKER_ID: 4005,
  JOIN_TIMEOUT: 4006,
  UNSUPPORTED_VERSION: 4007,
  MESSAGE_TOO_LARGE: 4008,
  /** A well-formed message at the wrong time: `signal` before `join`, a second `join`. */
  PROTOCOL_VIOLATION: 4009,
  /** No pong to the server's ping: the tab is gone without a close frame. */
  HEARTBEAT_TIMEOUT: 4010,
  /** Too many sockets are connected without having joined (see `maxPendingSockets`). */
  TOO_MANY_PENDING: 4011,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Codes of `error` messages: the request failed but the connection stays open. */
export const ErrorCode = {
  /** `signal` addressed to a broker that is not (or no longer) in the room. */
  UNKNOWN_PEER: 4404,
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** RFC 6455 caps a close reason at 123 UTF-8 bytes; browsers throw on longer ones. */
export function truncateCloseReason(reason: string): string {
  const encoder = new TextEncoder();
  let result = reason.slice(0, 123);
  while (encoder.encode(result).byteLength > 123) result = result.slice(0, -1);
  return result;
}
