import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SignalingProtocolError, errorFromJSON } from '../../src/errors';
import { CloseCode, truncateCloseReason } from '../../src/signaling/close-codes';
import { ROOM_TOKEN_LABEL, deriveRoomToken } from '../../src/signaling/room-token';
import {
  MAX_SIGNAL_DEPTH,
  encodeMessage,
  exceedsBytes,
  parseClientMessage,
  parseServerMessage,
} from '../../src/signaling/signaling-protocol';

const TOKEN = 'A'.repeat(43);

function protocolError(run: () => unknown): SignalingProtocolError {
  try {
    run();
  } catch (error) {
    if (error instanceof SignalingProtocolError) return error;
    throw error;
  }
  throw new Error('expected a SignalingProtocolError');
}

describe('parseClientMessage', () => {
  it('accepts the three client messages', () => {
    const join = { type: 'join', version: 1, room: 'cluster-1.a_b~c', brokerId: 2 ** 31 - 1, token: TOKEN };
    expect(parseClientMessage(JSON.stringify(join))).toEqual(join);
    const signal = { type: 'signal', to: 1, data: { type: 'answer', sdp: 'v=0\r\n' } };
    expect(parseClientMessage(JSON.stringify(signal))).toEqual(signal);
    expect(parseClientMessage('{"type":"leave"}')).toEqual({ type: 'leave' });
  });

  const rejected: Array<[string, string, number]> = [
    ['not JSON', '{', CloseCode.MALFORMED_MESSAGE],
    ['null', 'null', CloseCode.MALFORMED_MESSAGE],
    ['a number', '42', CloseCode.MALFORMED_MESSAGE],
    ['no type', '{}', CloseCode.MALFORMED_MESSAGE],
    ['a non-string type', '{"type":1}', CloseCode.MALFORMED_MESSAGE],
    ['an unknown type', '{"type":"welcome","brokerId":1,"peers":[]}', CloseCode.MALFORMED_MESSAGE],
    ['leave with extras', '{"type":"leave","x":1}', CloseCode.MALFORMED_MESSAGE],
    ['a __proto__ field', '{"type":"leave","__proto__":{}}', CloseCode.MALFORMED_MESSAGE],
    ['signal to 0', '{"type":"signal","to":0,"data":{}}', CloseCode.MALFORMED_MESSAGE],
    ['signal to a float', '{"type":"signal","to":1e300,"data":{}}', CloseCode.MALFORMED_MESSAGE],
    ['signal data as array', '{"type":"signal","to":1,"data":[]}', CloseCode.MALFORMED_MESSAGE],
    ['signal data as string', '{"type":"signal","to":1,"data":"sdp"}', CloseCode.MALFORMED_MESSAGE],
    ['signal without data', '{"type":"signal","to":1}', CloseCode.MALFORMED_MESSAGE],
    ['join without version', `{"type":"join","room":"r","brokerId":1,"token":"${TOKEN}"}`, CloseCode.MALFORMED_MESSAGE],
    ['join with version 2', `{"type":"join","version":2,"room":"r","brokerId":1,"token":"${TOKEN}"}`, CloseCode.UNSUPPORTED_VERSION],
    ['join with an empty room', `{"type":"join","version":1,"room":"","brokerId":1,"token":"${TOKEN}"}`, CloseCode.MALFORMED_MESSAGE],
    ['join with a room with spaces', `{"type":"join","version":1,"room":"a b","brokerId":1,"token":"${TOKEN}"}`, CloseCode.MALFORMED_MESSAGE],
    ['join with a long token', `{"type":"join","version":1,"room":"r","brokerId":1,"token":"${'A'.repeat(129)}"}`, CloseCode.MALFORMED_MESSAGE],
    ['join with a non-base64url token', '{"type":"join","version":1,"room":"r","brokerId":1,"token":"a+b/c="}', CloseCode.MALFORMED_MESSAGE],
    ['join with a negative broker id', `{"type":"join","version":1,"room":"r","brokerId":-4,"token":"${TOKEN}"}`, CloseCode.MALFORMED_MESSAGE],
  ];

  it.each(rejected)('rejects %s', (_name, raw, closeCode) => {
    expect(protocolError(() => parseClientMessage(raw)).closeCode).toBe(closeCode);
  });

  it('rejects messages over the byte cap with 4008, counting UTF-8 bytes', () => {
    const data = { note: 'é'.repeat(600) }; // 1200 bytes, 600 chars
    const raw = JSON.stringify({ type: 'signal', to: 1, data });
    expect(parseClientMessage(raw, { maxBytes: 2048 })).toMatchObject({ type: 'signal' });
    expect(protocolError(() => parseClientMessage(raw, { maxBytes: 1024 })).closeCode).toBe(CloseCode.MESSAGE_TOO_LARGE);
  });

  it('rejects deeply nested signal data without overflowing the stack', () => {
    const raw = `{"type":"signal","to":1,"data":${'{"d":'.repeat(20_000)}{}${'}'.repeat(20_000)}}`;
    expect(protocolError(() => parseClientMessage(raw, { maxBytes: 1_000_000 })).reason).toMatch(/deeper/);
    let ok: unknown = {};
    for (let i = 1; i < MAX_SIGNAL_DEPTH; i++) ok = { d: ok };
    expect(parseClientMessage(encodeMessage({ type: 'signal', to: 1, data: ok as never }))).toMatchObject({ type: 'signal' });
  });

  it('throws only SignalingProtocolError for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (raw) => {
        try {
          parseClientMessage(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(SignalingProtocolError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('throws only SignalingProtocolError for any JSON value, and what it accepts round-trips', () => {
    const idLike = fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53), fc.string(), fc.constant(null));
    const messageLike = fc.record(
      {
        type: fc.constantFrom('join', 'signal', 'leave', 'welcome', 'error', ''),
        version: fc.oneof(fc.constant(1), idLike),
        room: fc.oneof(fc.constant('r'), fc.string()),
        brokerId: idLike,
        token: fc.oneof(fc.constant(TOKEN), fc.string()),
        to: idLike,
        data: fc.oneof(fc.object(), fc.jsonValue()),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), messageLike), (value) => {
        const raw = JSON.stringify(value) ?? 'undefined';
        let parsed;
        try {
          parsed = parseClientMessage(raw);
        } catch (error) {
          expect(error).toBeInstanceOf(SignalingProtocolError);
          return;
        }
        expect(parseClientMessage(encodeMessage(parsed))).toEqual(parsed);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('parseServerMessage', () => {
  it('accepts the five server messages, ignoring fields it does not know', () => {
    expect(parseServerMessage('{"type":"welcome","brokerId":3,"peers":[1,2],"motd":"hi"}')).toEqual({ type: 'welcome', brokerId: 3, peers: [1, 2] });
    expect(parseServerMessage('{"type":"peer-joined","brokerId":4}')).toEqual({ type: 'peer-joined', brokerId: 4 });
    expect(parseServerMessage('{"type":"peer-left","brokerId":4}')).toEqual({ type: 'peer-left', brokerId: 4 });
    expect(parseServerMessage('{"type":"signal","from":4,"data":{"a":[1]}}')).toEqual({ type: 'signal', from: 4, data: { a: [1] } });
    expect(parseServerMessage('{"type":"error","code":4404,"message":"gone"}')).toEqual({ type: 'error', code: 4404, message: 'gone' });
  });

  it.each([
    '{"type":"welcome","brokerId":3,"peers":[0]}',
    '{"type":"welcome","brokerId":3}',
    '{"type":"peer-joined","brokerId":"4"}',
    '{"type":"signal","from":4,"data":null}',
    '{"type":"error","code":1.5,"message":""}',
    '{"type":"join"}',
  ])('rejects %s', (raw) => {
    expect(() => parseServerMessage(raw)).toThrow(SignalingProtocolError);
  });

  it('throws only SignalingProtocolError for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseServerMessage(JSON.stringify(value));
        } catch (error) {
          expect(error).toBeInstanceOf(SignalingProtocolError);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('room tokens', () => {
  it('is HMAC-SHA256 over the label and room, base64url, the same as node:crypto computes', async () => {
    const token = await deriveRoomToken('s3cret', 'room-1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expected = createHmac('sha256', 's3cret').update(ROOM_TOKEN_LABEL + 'room-1').digest('base64url');
    expect(token).toBe(expected);
  });

  it('differs by room and by secret, and is stable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), async (secret, roomA, roomB) => {
        const a = await deriveRoomToken(secret, roomA);
        expect(await deriveRoomToken(secret, roomA)).toBe(a);
        expect(createHmac('sha256', secret).update(ROOM_TOKEN_LABEL + roomA).digest('base64url')).toBe(a);
        if (roomA !== roomB) expect(await deriveRoomToken(secret, roomB)).not.toBe(a);
        expect(await deriveRoomToken(`${secret}x`, roomA)).not.toBe(a);
      }),
      { numRuns: 100 },
    );
  });
});

describe('helpers', () => {
  it('exceedsBytes agrees with TextEncoder', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat(200), (text, max) => {
        expect(exceedsBytes(text, max)).toBe(new TextEncoder().encode(text).byteLength > max);
      }),
    );
  });

  it('truncateCloseReason keeps reasons within 123 UTF-8 bytes and leaves short ones alone', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        const reason = truncateCloseReason(text);
        expect(new TextEncoder().encode(reason).byteLength).toBeLessThanOrEqual(123);
        expect(text.startsWith(reason)).toBe(true);
        if (new TextEncoder().encode(text).byteLength <= 123) expect(reason).toBe(text);
      }),
    );
  });

  it('signaling errors survive the structured-clone round trip', () => {
    const error = new SignalingProtocolError('not JSON', CloseCode.MESSAGE_TOO_LARGE);
    const copy = errorFromJSON(structuredClone(error.toJSON()));
    expect(copy).toBeInstanceOf(SignalingProtocolError);
    expect(copy).toMatchObject({ reason: 'not JSON', closeCode: 4008, message: error.message });
  });
});
