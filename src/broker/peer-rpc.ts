/**
 * Requests between brokers over the mesh, Kafka-style: a request frame with an API key and a
 * correlation id, answered by one response frame with the same id. Handlers run per API key;
 * what a handler throws goes back as a typed error (errorCode -1 and the error's JSON), and the
 * caller rejects with the same class. A request to a peer whose link goes down fails at once
 * with a retriable error instead of waiting out its timeout.
 */
import { InvalidRequestError, PeerLinkDownError, RequestTimedOutError, TabkaError, UnsupportedVersionError, errorFromJSON, isSerializedTabkaError } from '../errors';
import type { ApiKey } from '../protocol/api-keys';
import { FrameKind, encodeFrame } from '../protocol/frame';
import type { Frame, FrameBody } from '../protocol/frame';

export interface RpcMessage {
  readonly body: FrameBody;
  /** Binary payloads (record batches), carried as they are. */
  readonly blobs?: readonly Uint8Array[];
}

export type RequestHandler = (from: number, request: RpcMessage) => Promise<RpcMessage>;

/** Kafka's UNKNOWN_SERVER_ERROR: the body says what went wrong. */
const ERROR_CODE = -1;
const MAX_CORRELATION_ID = 0x7fff_ffff;

interface Pending {
  readonly to: number;
  readonly apiKey: ApiKey;
  readonly resolve: (reply: RpcMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class PeerRpc {
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<number, RequestHandler>();

  /** `send` fails when no open link to the peer can take the frame (not up yet, or gone). */
  constructor(private readonly send: (to: number, bytes: Uint8Array) => Promise<void>) {}

  handle(apiKey: ApiKey, handler: RequestHandler): void {
    this.handlers.set(apiKey, handler);
  }

  request(to: number, apiKey: ApiKey, message: RpcMessage, timeoutMs: number): Promise<RpcMessage> {
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId >= MAX_CORRELATION_ID ? 1 : correlationId + 1;
    const { body, blobs = [] } = message;
    let frame: Uint8Array;
    try {
      // Encoded first: a request that cannot be encoded fails without leaving a pending entry behind.
      frame = encodeFrame({ kind: FrameKind.Request, apiKey, apiVersion: 0, correlationId, errorCode: 0, body, blobs });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<RpcMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimedOutError(`request ${apiKey} to broker ${to}`, timeoutMs));
      }, timeoutMs);
      this.pending.set(correlationId, { to, apiKey, resolve, reject, timer });
      // A request that cannot leave fails now, not at its timeout: a follower whose link to a new
      // leader is not up yet would otherwise sit out its whole fetch timeout (3.5 s) instead of
      // retrying after its backoff, and every acks=all write would wait for it.
      this.send(to, frame).catch(() => this.settle(correlationId, (pending) => pending.reject(new PeerLinkDownError(to))));
    });
  }

  /** Takes a request or response frame from `from`; false for any other kind. */
  receive(from: number, frame: Frame): boolean {
    if (frame.kind === FrameKind.Response) {
      const pending = this.pending.get(frame.correlationId);
      // A response nobody waits for (timed out, or never asked for) is dropped.
      if (!pending || pending.to !== from || pending.apiKey !== frame.apiKey) return true;
      this.pending.delete(frame.correlationId);
      clearTimeout(pending.timer);
      if (frame.errorCode === 0) pending.resolve({ body: frame.body, blobs: frame.blobs });
      else pending.reject(responseError(frame.body));
      return true;
    }
    if (frame.kind !== FrameKind.Request) return false;
    void this.serve(from, frame);
    return true;
  }

  peerDown(id: number): void {
    for (const [correlationId, pending] of this.pending) {
      if (pending.to === id) this.settle(correlationId, () => pending.reject(new PeerLinkDownError(id)));
    }
  }

  private settle(correlationId: number, outcome: (pending: Pending) => void): void {
    const pending = this.pending.get(correlationId);
    if (!pending) return;
    this.pending.delete(correlationId);
    clearTimeout(pending.timer);
    outcome(pending);
  }

  close(): void {
    for (const id of new Set([...this.pending.values()].map((p) => p.to))) this.peerDown(id);
  }

  private async serve(from: number, frame: Frame): Promise<void> {
    const handler = this.handlers.get(frame.apiKey);
    let reply: RpcMessage;
    let errorCode = 0;
    try {
      if (!handler) throw new UnsupportedVersionError(frame.apiKey, frame.apiVersion);
      reply = await handler(from, { body: frame.body, blobs: frame.blobs });
    } catch (error) {
      errorCode = ERROR_CODE;
      const typed = error instanceof TabkaError ? error : new InvalidRequestError(error instanceof Error ? error.message : String(error));
      reply = { body: { error: typed.toJSON() } };
    }
    const { apiKey, apiVersion, correlationId } = frame;
    const blobs = reply.blobs ?? [];
    // A peer that went away gets no answer; its own side fails the request.
    this.send(from, encodeFrame({ kind: FrameKind.Response, apiKey, apiVersion, correlationId, errorCode, body: reply.body, blobs })).catch(() => undefined);
  }
}

function responseError(body: FrameBody): TabkaError {
  const error = body['error'];
  return isSerializedTabkaError(error) ? errorFromJSON(error) : new InvalidRequestError('the peer answered with an unreadable error');
}
