import { ApiKey } from '../protocol/api-keys';
import { SerialQueue } from '../util/serial-queue';
import { FrameAssembler, chunkFrame } from './frame-chunker';

/**
 * What a ChannelLink needs of an RTCDataChannel: a page's (simple-peer's) or one transferred
 * to the broker's worker. Only the fields used, so either fits.
 */
export interface FramedChannel {
  readonly readyState: RTCDataChannelState;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(chunk: Uint8Array<ArrayBuffer>): void;
  addEventListener(type: 'bufferedamountlow' | 'close' | 'open', listener: () => void): void;
  removeEventListener(type: 'bufferedamountlow' | 'close' | 'open', listener: () => void): void;
}

export interface ChannelLinkOptions {
  readonly chunkBytes?: number;
  readonly maxFrameBytes?: number;
  /** Bytes queued in the channel before send() waits for it to drain. */
  readonly highWaterMark?: number;
}

/**
 * One chunk in the channel's buffer at a time. With 256 KiB (four chunks), replicated writes on
 * three tabs stalled for 4-55 s in about one run in eight (a producer's link to its leader stopped
 * draining: SCTP retransmission back-off after packets lost inside the browser; the kernel saw
 * no drops), and 1 MiB stalled more. With 64 KiB, no stall in 30 runs, at the same throughput.
 */
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DRAIN_CHECK_MS = 50;
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** A frame's API key sits at byte 4 of its header (see protocol/frame.ts). */
function isUrgent(frame: Uint8Array): boolean {
  return frame.byteLength >= 6 && new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getInt16(4) === ApiKey.Election;
}

/**
 * Frames over one data channel: chunked to the channel's message size and reassembled on the
 * far side, the sender waiting on bufferedAmount rather than overflowing it, and election
 * frames (the heartbeats) let through between a bulk frame's chunks. It knows nothing of who
 * is at the other end: authentication and what a bad chunk means are its owner's business.
 */
export class ChannelLink {
  private readonly assembler: FrameAssembler;
  private readonly sendQueue = new SerialQueue();
  private readonly urgent: { chunk: Uint8Array<ArrayBuffer>; resolve: () => void; reject: (error: Error) => void }[] = [];
  private pumpingUrgent = false;
  private nextFrameId = 0;
  private closed = false;

  /** `channel()` may be undefined until the channel exists (simple-peer's answerer gets it late). */
  constructor(
    private readonly channel: () => FramedChannel | undefined,
    private readonly options: ChannelLinkOptions = {},
  ) {
    this.assembler = new FrameAssembler(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  /** Sends one frame; resolves when its last chunk is handed to the channel. */
  send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the link is closed'));
    const chunks = this.chunks(frame);
    const [only] = chunks;
    if (only && chunks.length === 1 && isUrgent(frame)) return this.sendUrgent(only);
    return this.sendQueue.run(async () => {
      for (const chunk of chunks) {
        await this.drained();
        if (this.closed) throw new Error('the link closed while sending');
        // Urgent frames waiting go between this frame's chunks, not after all of them.
        this.flushUrgent();
        this.sendChunk(chunk);
      }
    });
  }

  /** Sends at once, past the queue and the drain wait (a tab's last words on unload). */
  sendNow(frame: Uint8Array): void {
    for (const chunk of this.chunks(frame)) this.sendChunk(chunk);
  }

  /** A chunk from the channel: the completed frame, or undefined while more are due. Throws InvalidFrameError. */
  receive(chunk: Uint8Array): Uint8Array | undefined {
    return this.assembler.push(chunk);
  }

  close(): void {
    this.closed = true;
    for (const { reject } of this.urgent.splice(0)) reject(new Error('the link is closed'));
  }

  private chunks(frame: Uint8Array): Uint8Array<ArrayBuffer>[] {
    return chunkFrame(frame, this.nextFrameId++, this.options.chunkBytes);
  }

  private sendChunk(chunk: Uint8Array<ArrayBuffer>): void {
    const channel = this.channel();
    if (!channel) throw new Error('no data channel yet');
    channel.send(chunk);
  }

  /**
   * Election frames (the cluster's heartbeats) skip the queue of bulk frames: behind a few
   * megabytes of record batches they would arrive after the session timeout, and a busy but
   * healthy broker would be fenced. They stay in order among themselves.
   */
  private sendUrgent(chunk: Uint8Array<ArrayBuffer>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.urgent.push({ chunk, resolve, reject });
      void this.pumpUrgent();
    });
  }

  private async pumpUrgent(): Promise<void> {
    if (this.pumpingUrgent) return;
    this.pumpingUrgent = true;
    try {
      while (this.urgent.length > 0) {
        await this.drained();
        this.flushUrgent();
      }
    } finally {
      this.pumpingUrgent = false;
    }
  }

  private flushUrgent(): void {
    for (const { chunk, resolve, reject } of this.urgent.splice(0)) {
      if (this.closed) {
        reject(new Error('the link closed while sending'));
        continue;
      }
      try {
        this.sendChunk(chunk);
        resolve();
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  /** Resolves once the channel is open and its buffer is below the high-water mark. */
  private drained(): Promise<void> {
    const channel = this.channel();
    const limit = this.options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    if (!channel || (channel.readyState === 'open' && channel.bufferedAmount <= limit) || channel.readyState === 'closed') return Promise.resolve();
    channel.bufferedAmountLowThreshold = limit / 2;
    return new Promise((resolve) => {
      const ready = () => channel.readyState === 'closed' || (channel.readyState === 'open' && channel.bufferedAmount <= limit / 2);
      // The events alone are not enough: a 'bufferedamountlow' that never comes would stall this
      // link's every frame (heartbeats too) for good, so the level is also checked on a timer.
      const check = setInterval(() => {
        if (ready() || this.closed) done();
      }, DRAIN_CHECK_MS);
      const onEvent = () => {
        if (ready()) done();
      };
      const done = () => {
        clearInterval(check);
        for (const type of ['bufferedamountlow', 'close', 'open'] as const) channel.removeEventListener(type, onEvent);
        resolve();
      };
      for (const type of ['bufferedamountlow', 'close', 'open'] as const) channel.addEventListener(type, onEvent);
    });
  }
}
