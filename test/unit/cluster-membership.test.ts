import { describe, expect, it } from 'vitest';
import { Membership } from '../../src/cluster/membership';

describe('Membership (failure detector)', () => {
  it('a peer is live until a full session passes without a word from it', () => {
    const membership = new Membership(1, 1500);
    membership.heard(2, 1000);
    expect(membership.isLive(2, 2499)).toBe(true);
    expect(membership.isLive(2, 2500)).toBe(false);
    expect(membership.liveUntil(2)).toBe(2500);
    membership.heard(2, 2600);
    expect(membership.isLive(2, 2700)).toBe(true);
  });

  it('a closed channel is immediate suspicion, lifted by the next message', () => {
    const membership = new Membership(1, 1500);
    membership.heard(2, 1000);
    membership.echoed(2, 990, 1000);
    membership.channelDown(2);
    expect(membership.isLive(2, 1001)).toBe(false);
    expect(membership.isReachable(2, 1001)).toBe(false);
    membership.heard(2, 1100);
    expect(membership.isLive(2, 1101)).toBe(true);
    membership.channelDown(2);
    membership.channelUp(2, 1200);
    expect(membership.isLive(2, 1201)).toBe(true);
  });

  it('hearing a peer is not reaching it: that takes an echo of our own timestamp', () => {
    const membership = new Membership(1, 1500);
    membership.heard(2, 1000);
    expect(membership.isReachable(2, 1000)).toBe(false);
    membership.echoed(2, 900, 1000);
    expect(membership.reachableUntil(2)).toBe(2400);
    expect(membership.isReachable(2, 2399)).toBe(true);
    expect(membership.isReachable(2, 2400)).toBe(false);
    // A reordered, older echo does not shorten the round trip we already have.
    membership.echoed(2, 500, 1001);
    expect(membership.reachableUntil(2)).toBe(2400);
  });

  it('ignores an echo from our future, which no honest peer can send', () => {
    const membership = new Membership(1, 1500);
    membership.echoed(2, 5000, 1000);
    expect(membership.isReachable(2, 1000)).toBe(false);
  });

  it('echoes back the newest timestamp a peer sent, even when frames come out of order', () => {
    const membership = new Membership(1, 1500);
    expect(membership.echoFor(2)).toBeNull();
    membership.peerTimestamp(2, 70);
    membership.peerTimestamp(2, 50);
    expect(membership.echoFor(2)).toBe(70);
  });

  it('it is always live and reachable to itself, and lists the peers it knows', () => {
    const membership = new Membership(1, 1500);
    expect(membership.isLive(1, 0)).toBe(true);
    expect(membership.isReachable(1, 0)).toBe(true);
    membership.remember(3);
    membership.heard(2, 0);
    membership.remember(1);
    expect(membership.knownPeers()).toEqual([2, 3]);
    expect(membership.isLive(3, 0)).toBe(false);
  });
});
