// The platform limit for the data path: one bare RTCDataChannel between two tabs (no simple-peer,
// no framing), 16 KiB messages, the sender keeping bufferedAmount under a high-water mark.
// The two tabs swap their complete SDP (ICE gathered) over a BroadcastChannel.

const MESSAGE_BYTES = 16 * 1024;
const HIGH_WATER = 1024 * 1024;

function waitForIce(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
}

async function connect(role: 'sender' | 'receiver', room: string): Promise<RTCDataChannel> {
  const signals = new BroadcastChannel(`raw-channel-${room}`);
  const pc = new RTCPeerConnection();
  const next = (type: string) =>
    new Promise<RTCSessionDescriptionInit>((resolve) => {
      const onMessage = (event: MessageEvent<{ type: string; sdp: RTCSessionDescriptionInit }>) => {
        if (event.data.type !== type) return;
        signals.removeEventListener('message', onMessage);
        resolve(event.data.sdp);
      };
      signals.addEventListener('message', onMessage);
    });
  if (role === 'sender') {
    const channel = pc.createDataChannel('bench', { ordered: true });
    channel.binaryType = 'arraybuffer';
    const answer = next('answer');
    // Keep offering until the receiver answers: it may not be listening yet.
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    const timer = setInterval(() => signals.postMessage({ type: 'offer', sdp: pc.localDescription?.toJSON() }), 100);
    await pc.setRemoteDescription(await answer);
    clearInterval(timer);
    if (channel.readyState !== 'open') await new Promise((resolve) => channel.addEventListener('open', resolve, { once: true }));
    return channel;
  }
  const channelReady = new Promise<RTCDataChannel>((resolve) => pc.addEventListener('datachannel', (event) => resolve(event.channel)));
  await pc.setRemoteDescription(await next('offer'));
  await pc.setLocalDescription(await pc.createAnswer());
  await waitForIce(pc);
  signals.postMessage({ type: 'answer', sdp: pc.localDescription?.toJSON() });
  const channel = await channelReady;
  channel.binaryType = 'arraybuffer';
  if (channel.readyState !== 'open') await new Promise((resolve) => channel.addEventListener('open', resolve, { once: true }));
  return channel;
}

/** Receiver: resolves with the bytes per second it received once `totalBytes` arrived. */
async function receive(room: string, totalBytes: number): Promise<number> {
  const channel = await connect('receiver', room);
  return new Promise((resolve) => {
    let received = 0;
    let start = 0;
    channel.addEventListener('message', (event: MessageEvent<ArrayBuffer>) => {
      if (received === 0) start = performance.now();
      received += event.data.byteLength;
      if (received >= totalBytes) resolve(((received - event.data.byteLength) / (performance.now() - start)) * 1000);
    });
  });
}

async function send(room: string, totalBytes: number): Promise<void> {
  const channel = await connect('sender', room);
  channel.bufferedAmountLowThreshold = HIGH_WATER / 2;
  const message = new Uint8Array(MESSAGE_BYTES);
  for (let sent = 0; sent < totalBytes; sent += MESSAGE_BYTES) {
    if (channel.bufferedAmount > HIGH_WATER) await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }));
    channel.send(message);
  }
}

Object.assign(window, { rawChannel: { receive, send } });
document.body.dataset.ready = 'true';
