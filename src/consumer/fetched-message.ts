/**
 * A consumed record, shaped like KafkaJS's `KafkaMessage`, that builds its fields when they are
 * read. The batch was fully checked when it was fetched (CRC, every length within bounds), so
 * what is left is allocation: a key view, a value view, a headers object and two strings per
 * record, most of them never looked at by an app that reads only the value, and all of them
 * kept alive for the whole batch when built up front. Reading a field builds it then, in the
 * app's own loop, where it dies young; each field is built once.
 *
 * The fields are getters: `{ ...message }` copies none of them, `JSON.stringify` uses toJSON.
 */
import { bytesAt, readHeaders } from '../protocol/record-batch';
import type { KafkaMessage } from './consumer';

type Headers = Record<string, Uint8Array | null>;
const UNREAD = undefined;

export class FetchedMessage implements KafkaMessage {
  private keyView: Uint8Array | null | undefined = UNREAD;
  private valueView: Uint8Array | null | undefined = UNREAD;
  private headerValues: Headers | undefined = UNREAD;

  constructor(
    private readonly batch: Uint8Array,
    private readonly offsetNumber: number,
    private readonly timestampMs: number,
    private readonly keyAt: number,
    private readonly keyLength: number,
    private readonly valueAt: number,
    private readonly valueLength: number,
    private readonly headersAt: number,
    private readonly headerCount: number,
  ) {}

  get key(): Uint8Array | null {
    if (this.keyView === UNREAD) this.keyView = bytesAt(this.batch, this.keyAt, this.keyLength);
    return this.keyView;
  }

  get value(): Uint8Array | null {
    if (this.valueView === UNREAD) this.valueView = bytesAt(this.batch, this.valueAt, this.valueLength);
    return this.valueView;
  }

  get headers(): Headers {
    if (this.headerValues === UNREAD) {
      const headers: Headers = {};
      if (this.headerCount > 0) for (const { key, value } of readHeaders(this.batch, this.headersAt, this.headerCount)) headers[key] = value;
      this.headerValues = headers;
    }
    return this.headerValues;
  }

  get timestamp(): string {
    return String(this.timestampMs);
  }

  get offset(): string {
    return String(this.offsetNumber);
  }

  toJSON(): KafkaMessage {
    return { key: this.key, value: this.value, headers: this.headers, timestamp: this.timestamp, offset: this.offset };
  }
}
