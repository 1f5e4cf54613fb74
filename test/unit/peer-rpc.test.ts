import { describe, expect, it } from 'vitest';
import { PeerRpc } from '../../src/broker/peer-rpc';
import { PeerLinkDownError, RequestTimedOutError } from '../../src/errors';
import { ApiKey } from '../../src/protocol/api-keys';
import { decodeFrame } from '../../src/protocol/frame';

describe('PeerRpc', () => {
  it('fails a request at once with PeerLinkDownError when its frame cannot be sent, instead of at its timeout', async () => {
    const rpc = new PeerRpc(() => Promise.reject(new Error('no open data channel to broker 7')));
    // A 60 s request timeout against the test's 30 s: only failing at once passes.
    const outcome = await rpc.request(7, ApiKey.Fetch, { body: { offset: 0 } }, 60_000).then(
      () => 'answered',
      (error: Error) => error,
    );
    expect(outcome).toBeInstanceOf(PeerLinkDownError);
    expect((outcome as PeerLinkDownError).brokerId).toBe(7);
    expect((outcome as PeerLinkDownError).retriable).toBe(true);
  });

  it('answers a request whose frame was sent, and times out one that gets no answer', async () => {
    const sent: Uint8Array[] = [];
    const caller = new PeerRpc(async (_to, bytes) => void sent.push(bytes));
    const answerer = new PeerRpc(async (_to, bytes) => void caller.receive(2, decodeFrame(bytes)));
    answerer.handle(ApiKey.Fetch, async (_from, request) => ({ body: { echo: request.body['offset'] ?? null } }));

    const answered = caller.request(2, ApiKey.Fetch, { body: { offset: 42 } }, 5_000);
    answerer.receive(1, decodeFrame(sent[0]!));
    expect((await answered).body).toEqual({ echo: 42 });

    const unanswered = caller.request(2, ApiKey.Fetch, { body: { offset: 43 } }, 10);
    await expect(unanswered).rejects.toBeInstanceOf(RequestTimedOutError);
  });
});
