import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  importSecret,
  makeNonce,
  parseHello,
  parseProof,
  protocolMismatch,
  proveIdentity,
  sdpFingerprint,
  verifyIdentity,
} from '../../src/transport/peer-auth';
import type { AuthContext } from '../../src/transport/peer-auth';

const FP_A = 'sha-256 AA:BB:CC';
const FP_B = 'sha-256 11:22:33';
const FP_MITM = 'sha-256 66:66:66';

/** Each side's view of one connection: its own fingerprint, and the one it sees for the peer. */
function sides(seenByA = FP_B, seenByB = FP_A) {
  const a: AuthContext = { cluster: 'c', localId: 1, remoteId: 2, localFingerprint: FP_A, remoteFingerprint: seenByA };
  const b: AuthContext = { cluster: 'c', localId: 2, remoteId: 1, localFingerprint: FP_B, remoteFingerprint: seenByB };
  const nonceA = makeNonce();
  const nonceB = makeNonce();
  return { a, b, noncesA: { local: nonceA, remote: nonceB }, noncesB: { local: nonceB, remote: nonceA } };
}

describe('peer authentication', () => {
  it('extracts and normalizes the DTLS fingerprint of an SDP', () => {
    const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:SHA-256 ab:cd:EF\r\na=setup:actpass\r\n';
    expect(sdpFingerprint(sdp)).toBe('sha-256 AB:CD:EF');
    expect(sdpFingerprint('v=0\r\n')).toBeUndefined();
  });

  it('accepts proofs between two brokers that share the secret and see the same fingerprints', async () => {
    const key = await importSecret('s3cret');
    const { a, b, noncesA, noncesB } = sides();
    const fromA = await proveIdentity(key, a, noncesA);
    const fromB = await proveIdentity(key, b, noncesB);
    expect(await verifyIdentity(key, b, noncesB, fromA.proof)).toBe(true);
    expect(await verifyIdentity(key, a, noncesA, fromB.proof)).toBe(true);
  });

  it('refuses a peer with another secret', async () => {
    const { a, b, noncesA, noncesB } = sides();
    const forged = await proveIdentity(await importSecret('guess'), a, noncesA);
    expect(await verifyIdentity(await importSecret('s3cret'), b, noncesB, forged.proof)).toBe(false);
  });

  it('refuses when a man in the middle terminated DTLS (the sides see different fingerprints)', async () => {
    const key = await importSecret('s3cret');
    const { a, b, noncesA, noncesB } = sides(FP_MITM, FP_MITM);
    const fromA = await proveIdentity(key, a, noncesA);
    expect(await verifyIdentity(key, b, noncesB, fromA.proof)).toBe(false);
  });

  it("refuses a reflected proof (a peer replaying this broker's own proof back)", async () => {
    const key = await importSecret('s3cret');
    const { a, noncesA } = sides();
    const own = await proveIdentity(key, a, noncesA);
    expect(await verifyIdentity(key, a, noncesA, own.proof)).toBe(false);
  });

  it('refuses a proof made for other nonces (a replay from an earlier connection)', async () => {
    const key = await importSecret('s3cret');
    const earlier = sides();
    const now = sides();
    const old = await proveIdentity(key, earlier.a, earlier.noncesA);
    expect(await verifyIdentity(key, now.b, now.noncesB, old.proof)).toBe(false);
  });

  it('validates hello and proof bodies from a peer', () => {
    const nonce = makeNonce();
    expect(parseHello({ brokerId: 3, cluster: 'c', nonce, protocol: 7 })).toEqual({ brokerId: 3, cluster: 'c', nonce, protocol: 7 });
    // Tabs from before the protocol version was sent speak version 1.
    expect(parseHello({ brokerId: 3, cluster: 'c', nonce })).toEqual({ brokerId: 3, cluster: 'c', nonce, protocol: 1 });
    const badHellos = [
      {},
      { brokerId: -1, cluster: 'c', nonce },
      { brokerId: 3, cluster: 5, nonce },
      { brokerId: 3, cluster: 'c', nonce: 'short' },
      { brokerId: 3, cluster: 'c', nonce, protocol: 0 },
      { brokerId: 3, cluster: 'c', nonce, protocol: '2' },
      { brokerId: 3, cluster: 'c', nonce, protocol: 1.5 },
    ];
    for (const bad of badHellos) {
      expect(parseHello(bad)).toBeUndefined();
    }
    expect(parseProof({ proof: 'x'.repeat(200) })).toBeUndefined();
    expect(parseProof({ proof: 1 })).toBeUndefined();
    expect(parseProof({ proof: 'abc' })).toEqual({ proof: 'abc' });
  });

  it('names the older side when protocol versions differ, and nothing when they match', () => {
    expect(protocolMismatch(PROTOCOL_VERSION)).toBeNull();
    expect(protocolMismatch(PROTOCOL_VERSION - 1)).toBe(
      `the peer runs tabka protocol ${PROTOCOL_VERSION - 1} and this tab ${PROTOCOL_VERSION}: tabs of one cluster must run the same version (reload the peer)`,
    );
    expect(protocolMismatch(PROTOCOL_VERSION + 1)).toMatch(/\(reload this tab\)$/);
  });
});
