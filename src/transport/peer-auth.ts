/**
 * Peers prove knowledge of the cluster secret to each other over the data channel itself
 * (Kafka's SASL step, done in the browser with WebCrypto). Each side sends a fresh nonce, then
 * an HMAC over both nonces, both broker ids and both DTLS certificate fingerprints as each
 * side sees them in its SDP. A signaling server that terminated DTLS on both sides would make
 * the two sides see different fingerprints, so their proofs could not match: it cannot sit in
 * the middle even though it relays the SDP. Nothing but these two messages passes a link
 * before both proofs check out.
 */
const LABEL = 'tabka-peer-auth-v1';

/**
 * The shape of everything peers say to each other after the handshake (frame bodies, election
 * and metadata messages, record batch codecs). Bumped with any change an older tab would refuse
 * or misread. Peers of another version are refused at the handshake with that reason, instead
 * of linking and then refusing each other's messages one by one. Hellos without it are 1.
 */
export const PROTOCOL_VERSION = 2;
const NONCE_BYTES = 32;
const text = new TextEncoder();

export interface AuthHello {
  readonly brokerId: number;
  readonly cluster: string;
  readonly nonce: string;
  readonly protocol: number;
}

export interface AuthProof {
  readonly proof: string;
}

export interface AuthContext {
  readonly cluster: string;
  readonly localId: number;
  readonly remoteId: number;
  readonly localFingerprint: string;
  readonly remoteFingerprint: string;
}

/** The certificate fingerprint an SDP announces (`a=fingerprint:sha-256 AB:CD:...`), normalized. */
export function sdpFingerprint(sdp: string): string | undefined {
  const match = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp);
  return match ? `${(match[1] ?? '').toLowerCase()} ${(match[2] ?? '').toUpperCase()}` : undefined;
}

export function makeNonce(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

export async function importSecret(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', text.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

/**
 * What a proof signs: ordered by broker id, not by who speaks, so both sides build the same
 * transcript; the prover's id comes last so one side's proof cannot be replayed as the other's.
 */
function transcript(context: AuthContext, nonces: { local: string; remote: string }, proverId: number): Uint8Array<ArrayBuffer> {
  const local = { id: context.localId, nonce: nonces.local, fingerprint: context.localFingerprint };
  const remote = { id: context.remoteId, nonce: nonces.remote, fingerprint: context.remoteFingerprint };
  const [low, high] = local.id < remote.id ? [local, remote] : [remote, local];
  const fields = [LABEL, context.cluster, low.id, high.id, low.nonce, high.nonce, low.fingerprint, high.fingerprint, proverId];
  return new Uint8Array(text.encode(fields.join('\n')));
}

export async function proveIdentity(key: CryptoKey, context: AuthContext, nonces: { local: string; remote: string }): Promise<AuthProof> {
  const signature = await crypto.subtle.sign('HMAC', key, transcript(context, nonces, context.localId));
  return { proof: toBase64(new Uint8Array(signature)) };
}

/** Constant-time check (WebCrypto's verify) of the peer's proof. */
export async function verifyIdentity(
  key: CryptoKey,
  context: AuthContext,
  nonces: { local: string; remote: string },
  proof: string,
): Promise<boolean> {
  const signature = fromBase64(proof);
  if (!signature) return false;
  return crypto.subtle.verify('HMAC', key, signature, transcript(context, nonces, context.remoteId));
}

/** Why a peer's protocol version refuses the link, or null when it matches ours. */
export function protocolMismatch(remote: number): string | null {
  if (remote === PROTOCOL_VERSION) return null;
  const older = remote < PROTOCOL_VERSION ? 'the peer' : 'this tab';
  return `the peer runs tabka protocol ${remote} and this tab ${PROTOCOL_VERSION}: tabs of one cluster must run the same version (reload ${older})`;
}

export function parseHello(body: Record<string, unknown>): AuthHello | undefined {
  const { brokerId, cluster, nonce } = body;
  if (typeof brokerId !== 'number' || !Number.isSafeInteger(brokerId) || brokerId <= 0) return undefined;
  if (typeof cluster !== 'string' || cluster.length > 256) return undefined;
  if (typeof nonce !== 'string' || fromBase64(nonce)?.byteLength !== NONCE_BYTES) return undefined;
  const protocol = body.protocol ?? 1;
  if (typeof protocol !== 'number' || !Number.isSafeInteger(protocol) || protocol < 1) return undefined;
  return { brokerId, cluster, nonce, protocol };
}

export function parseProof(body: Record<string, unknown>): AuthProof | undefined {
  return typeof body.proof === 'string' && body.proof.length <= 128 ? { proof: body.proof } : undefined;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(value: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    return Uint8Array.from(atob(value), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}
