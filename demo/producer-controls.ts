/**
 * Producing from this tab: a send of N records at once, or a steady stream at a chosen rate.
 * Keys cycle through key-0..key-(K-1), so a reader sees each key land in one partition.
 * Every send is timed from the call to its acknowledgement: that is the produce latency the
 * charts show, and what acks changes.
 */
import { CompressionTypes } from 'tabka';
import type { CompressionType, Producer, Tabka } from 'tabka';
import { announce, describeError, element, setText } from './dom';
import type { EventLog } from './event-log';
import type { Meter } from './metrics';

type Acks = -1 | 0 | 1;

const ACKS_NAMES: Record<Acks, string> = { [-1]: 'all', 0: 'none', 1: 'leader' };
const STREAM_TICK_MS = 50;
/** Past this many unacknowledged sends the stream holds back instead of queueing without bound. */
const MAX_IN_FLIGHT = 2000;
const STREAM_SEND_TIMEOUT_MS = 10_000;

interface Stream {
  readonly topic: string;
  readonly timer: ReturnType<typeof setInterval>;
  startedAt: number;
  issued: number;
  acknowledged: number;
  failed: number;
  heldBack: number;
  inFlight: number;
  lastError: string | null;
}

export class ProducerControls {
  private readonly producer: Producer;
  private readonly form = element<HTMLFormElement>('produce-form');
  private readonly result = element<HTMLOutputElement>('produce-result');
  private readonly streamButton = element<HTMLButtonElement>('stream-toggle');
  private readonly streamStatus = element<HTMLOutputElement>('stream-status');
  private readonly rateInput = element<HTMLInputElement>('stream-rate');
  private stream: Stream | null = null;
  private counter = 0;

  constructor(
    private readonly tabka: Tabka,
    private readonly meter: Meter,
    private readonly log: EventLog,
  ) {
    this.producer = tabka.producer();
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.sendBatch();
    });
    this.streamButton.addEventListener('click', () => (this.stream ? this.stopStream() : this.startStream()));
    // A new rate starts a new schedule: the stream neither bursts to catch up nor drops behind.
    this.rateInput.addEventListener('change', () => {
      if (!this.stream) return;
      this.stream.startedAt = performance.now();
      this.stream.issued = 0;
    });
  }

  stopStream(): void {
    const stream = this.stream;
    if (!stream) return;
    clearInterval(stream.timer);
    this.stream = null;
    this.streamButton.textContent = 'Start stream';
    this.streamButton.setAttribute('aria-pressed', 'false');
    this.showStream(stream, 'stopped');
    announce(`stream to ${stream.topic} stopped`);
    this.log.add(Date.now(), 'client', `stream to ${stream.topic} stopped after ${stream.acknowledged} acknowledged record(s)`);
  }

  private settings(): { topic: string; keys: number; acks: Acks; count: number; compression: CompressionType } {
    const data = new FormData(this.form);
    return {
      compression: data.get('compression') === '1' ? CompressionTypes.GZIP : CompressionTypes.None,
      topic: String(data.get('topic')).trim(),
      keys: Math.max(0, Number(data.get('keys')) || 0),
      acks: Number(data.get('acks')) as Acks,
      count: Math.max(1, Number(data.get('count')) || 1),
    };
  }

  private message(keys: number): { key: string | null; value: string } {
    const n = this.counter++;
    return { key: keys > 0 ? `key-${n % keys}` : null, value: `record ${n} from broker ${this.tabka.brokerId} at ${new Date().toISOString()}` };
  }

  private async sendBatch(): Promise<void> {
    if (!this.form.reportValidity()) return;
    const { topic, keys, acks, count, compression } = this.settings();
    const messages = Array.from({ length: count }, () => this.message(keys));
    const started = performance.now();
    this.result.classList.remove('error');
    this.result.textContent = `sending ${count} record(s) to ${topic}…`;
    try {
      const sent = await this.producer.send({ topic, messages, acks, compression });
      const ms = performance.now() - started;
      this.meter.produced(count, ms);
      const where = sent
        .sort((a, b) => a.partition - b.partition)
        .map((m) => (acks === 0 ? `partition ${m.partition}` : `partition ${m.partition} from offset ${m.baseOffset}`))
        .join('; ');
      const codec = compression === CompressionTypes.GZIP ? ', gzip' : '';
      this.result.textContent = `sent ${count} record(s) in ${Math.round(ms)} ms with acks=${ACKS_NAMES[acks]}${codec}: ${where}`;
    } catch (error) {
      this.result.textContent = `send failed: ${describeError(error)}`;
      this.result.classList.add('error');
    }
  }

  private startStream(): void {
    if (!this.form.reportValidity() || !this.rateInput.reportValidity()) return;
    const { topic } = this.settings();
    const stream: Stream = {
      topic,
      timer: setInterval(() => this.tick(stream), STREAM_TICK_MS),
      startedAt: performance.now(),
      issued: 0,
      acknowledged: 0,
      failed: 0,
      heldBack: 0,
      inFlight: 0,
      lastError: null,
    };
    this.stream = stream;
    this.streamButton.textContent = 'Stop stream';
    this.streamButton.setAttribute('aria-pressed', 'true');
    this.log.add(Date.now(), 'client', `stream to ${topic} started at ${this.rateInput.value} records/s`);
    this.showStream(stream, 'streaming');
    announce(`streaming to ${topic}`);
  }

  private tick(stream: Stream): void {
    const { keys, acks, compression } = this.settings();
    const rate = Math.max(0, Number(this.rateInput.value) || 0);
    const due = Math.floor(((performance.now() - stream.startedAt) * rate) / 1000) - stream.issued;
    for (let i = 0; i < due; i++) {
      stream.issued++;
      if (stream.inFlight >= MAX_IN_FLIGHT) {
        stream.heldBack++;
        continue;
      }
      // One send per record: each gets its own latency, and the producer still batches them (linger).
      const started = performance.now();
      stream.inFlight++;
      this.producer
        .send({ topic: stream.topic, messages: [this.message(keys)], acks, compression, timeout: STREAM_SEND_TIMEOUT_MS })
        .then(() => {
          stream.acknowledged++;
          this.meter.produced(1, performance.now() - started);
        })
        .catch((error: unknown) => {
          stream.failed++;
          const text = describeError(error);
          if (text !== stream.lastError) this.log.add(Date.now(), 'client', `stream send failed: ${text}`);
          stream.lastError = text;
        })
        .finally(() => {
          stream.inFlight--;
          // A stopped stream still hears from its last sends: keep its tally honest.
          if (this.stream !== stream) this.showStream(stream, 'stopped');
        });
    }
    this.showStream(stream, 'streaming');
  }

  private showStream(stream: Stream, state: string): void {
    const parts = [`${state} to ${stream.topic}: ${stream.acknowledged} acknowledged`, `${stream.inFlight} in flight`, `${stream.failed} failed`];
    if (stream.heldBack) parts.push(`${stream.heldBack} held back (too many in flight)`);
    if (stream.lastError) parts.push(`last error: ${stream.lastError}`);
    setText(this.streamStatus, parts.join(', '));
  }
}
