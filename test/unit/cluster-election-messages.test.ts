import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidElectionMessageError,
  MAX_EPOCH,
  parseElectionMessage,
} from '../../src/cluster/election-messages';
import type { ElectionMessage } from '../../src/cluster/election-messages';
import { compareViews, majorityOf } from '../../src/cluster/cluster-view';

const view = { epoch: 3, seq: 2, members: [1, 4, 9] };

const valid: ElectionMessage[] = [
  { type: 'HEARTBEAT', epoch: 3, controllerId: 9, view, ts: 1_700_000_000_123, echo: 42.5 },
  { type: 'HEARTBEAT', epoch: 0, controllerId: null, view: { epoch: 0, seq: 0, members: [] }, ts: -5, echo: null },
  { type: 'ELECTION', epoch: 3 },
  { type: 'ANSWER', epoch: 3 },
  { type: 'COORDINATOR', epoch: 4, view, ts: 10 },
  { type: 'COORDINATOR_ACK', epoch: 4, candidateEpoch: 4, granted: true, view, echo: 10, logEnd: { epoch: 3, offset: 17 } },
  { type: 'LEAVE', epoch: MAX_EPOCH, ts: 0 },
];

function reason(value: unknown): string {
  try {
    parseElectionMessage(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidElectionMessageError);
    return (error as InvalidElectionMessageError).reason;
  }
  throw new Error('accepted');
}

describe('parseElectionMessage', () => {
  it('accepts every message type as it travels (JSON), and returns an equal copy', () => {
    for (const message of valid) {
      const wire = JSON.parse(JSON.stringify(message)) as unknown;
      const parsed = parseElectionMessage(wire);
      expect(parsed).toEqual(message);
      expect(parsed).not.toBe(wire);
    }
  });

  it('keeps only the fields it knows', () => {
    const parsed = parseElectionMessage({ type: 'ELECTION', epoch: 1, extra: 'x'.repeat(10_000) });
    expect(parsed).toEqual({ type: 'ELECTION', epoch: 1 });
  });

  it('rejects each kind of malformation with a reason', () => {
    expect(reason(null)).toMatch(/not an object/);
    expect(reason([])).toMatch(/not an object/);
    expect(reason({ type: 'VOTE', epoch: 1 })).toMatch(/unknown type "VOTE"/);
    expect(reason({ epoch: 1 })).toMatch(/unknown type/);
    expect(reason({ type: 'ELECTION' })).toMatch(/epoch/);
    expect(reason({ type: 'ELECTION', epoch: -1 })).toMatch(/epoch/);
    expect(reason({ type: 'ELECTION', epoch: 1.5 })).toMatch(/epoch/);
    expect(reason({ type: 'ELECTION', epoch: MAX_EPOCH + 1 })).toMatch(/epoch/);
    expect(reason({ type: 'ELECTION', epoch: '1' })).toMatch(/epoch/);
    expect(reason({ ...valid[0], controllerId: -3 })).toMatch(/controllerId/);
    expect(reason({ ...valid[0], ts: Number.NaN })).toMatch(/ts/);
    expect(reason({ ...valid[0], echo: 'yesterday' })).toMatch(/echo/);
    expect(reason({ ...valid[0], view: null })).toMatch(/view/);
    expect(reason({ ...valid[0], view: { ...view, members: [4, 1] } })).toMatch(/ascending/);
    expect(reason({ ...valid[0], view: { ...view, members: [1, 1] } })).toMatch(/ascending/);
    expect(reason({ ...valid[0], view: { ...view, members: [1, 'x'] } })).toMatch(/broker ids/);
    expect(reason({ ...valid[0], view: { ...view, members: Array.from({ length: 1025 }, (_, i) => i) } })).toMatch(/at most/);
    expect(reason({ ...valid[0], view: { ...view, seq: -1 } })).toMatch(/seq/);
    expect(reason({ ...valid[5], granted: 'true' })).toMatch(/granted/);
    expect(reason({ ...valid[5], candidateEpoch: undefined })).toMatch(/candidateEpoch/);
    expect(reason({ ...valid[5], logEnd: undefined })).toMatch(/logEnd/);
    expect(reason({ ...valid[5], logEnd: { epoch: 1, offset: -1 } })).toMatch(/offset/);
  });

  it('throws nothing but InvalidElectionMessageError, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseElectionMessage(value);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidElectionMessageError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the typed error carries Kafka-style code and reason', () => {
    const error = new InvalidElectionMessageError('epoch must be an integer');
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.toJSON()).toEqual({
      name: 'InvalidElectionMessageError',
      message: 'Invalid election message: epoch must be an integer',
      details: { reason: 'epoch must be an integer' },
    });
  });
});

describe('cluster view', () => {
  it('orders views by (epoch, seq), newer epochs first', () => {
    expect(compareViews({ epoch: 2, seq: 0, members: [1] }, { epoch: 1, seq: 9, members: [1, 2, 3] })).toBe(1);
    expect(compareViews({ epoch: 2, seq: 1, members: [1] }, { epoch: 2, seq: 2, members: [1] })).toBe(-1);
    expect(compareViews(view, { ...view, members: [...view.members] })).toBe(0);
  });

  it('a majority is more than half', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => majorityOf({ epoch: 1, seq: 0, members: Array.from({ length: n }, (_, i) => i) }))).toEqual([
      1, 1, 2, 2, 3, 3,
    ]);
  });
});
