/**
 * Consuming in this tab, two ways Kafka offers: as a member of a consumer group (the group's
 * coordinator shares the topic's partitions out among its members and keeps their committed
 * offsets), or as a standalone reader of one partition from a chosen offset (no group, no
 * commits: Kafka's assign() and seek()).
 */
import type { Consumer, EachMessagePayload, Tabka } from 'tabka';
import { announce, bytesToText, describeError, element, h, setText } from './dom';
import type { EventLog } from './event-log';
import type { Meter } from './metrics';

const LAST_RECORDS = 8;

interface Running {
  readonly consumer: Consumer;
  readonly label: string;
  consumed: number;
  readonly last: string[];
}

abstract class ConsumerPanel {
  protected running: Running | null = null;
  private busy = false;
  protected readonly form: HTMLFormElement;
  private readonly button: HTMLButtonElement;
  private readonly state: HTMLElement;
  private readonly owns: HTMLElement;
  private readonly records: HTMLOListElement;

  constructor(
    prefix: string,
    protected readonly tabka: Tabka,
    protected readonly meter: Meter,
    protected readonly log: EventLog,
  ) {
    this.form = element<HTMLFormElement>(`${prefix}-form`);
    this.button = element<HTMLButtonElement>(`${prefix}-toggle`);
    this.state = element(`${prefix}-state`);
    this.owns = element(`${prefix}-owns`);
    this.records = element<HTMLOListElement>(`${prefix}-records`);
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void (this.running ? this.stop() : this.start());
    });
  }

  protected abstract create(data: FormData): Promise<{ consumer: Consumer; label: string }>;
  protected abstract ownership(running: Running): string;

  /** Called on every dashboard refresh: what this consumer owns and read. */
  refresh(): void {
    const running = this.running;
    if (!running) return;
    setText(this.owns, this.ownership(running));
    setText(this.state, `${running.label}: ${running.consumed} record(s) consumed`);
    const items = running.last.map((line) => h('li', {}, line));
    if (this.records.textContent !== running.last.join('')) this.records.replaceChildren(...items);
  }

  /** The broker is gone (left or crashed): nothing more will arrive. */
  abandon(reason: string): void {
    if (!this.running) return;
    this.state.textContent = `${this.running.label}: stopped, ${reason}`;
    this.running = null;
    this.setButton(false);
  }

  private async start(): Promise<void> {
    if (this.busy || !this.form.reportValidity()) return;
    this.busy = true;
    this.state.classList.remove('error');
    this.state.textContent = 'starting…';
    try {
      const { consumer, label } = await this.create(new FormData(this.form));
      const running: Running = { consumer, label, consumed: 0, last: [] };
      this.running = running;
      await consumer.run({ eachMessage: async (payload) => this.received(running, payload) });
      this.setButton(true);
      this.refresh();
      announce(`started: ${label}`);
    } catch (error) {
      this.running = null;
      this.state.textContent = `could not start: ${describeError(error)}`;
      announce(this.state.textContent);
      this.state.classList.add('error');
    } finally {
      this.busy = false;
    }
  }

  private async stop(): Promise<void> {
    const running = this.running;
    if (this.busy || !running) return;
    this.busy = true;
    this.state.textContent = `${running.label}: stopping…`;
    try {
      await running.consumer.disconnect();
      this.state.textContent = `${running.label}: stopped after ${running.consumed} record(s)`;
      announce(this.state.textContent);
    } catch (error) {
      this.state.textContent = `stop failed: ${describeError(error)}`;
    } finally {
      this.running = null;
      this.owns.textContent = '';
      this.setButton(false);
      this.busy = false;
    }
  }

  private async received(running: Running, { partition, message }: EachMessagePayload): Promise<void> {
    running.consumed++;
    this.meter.consumed(1);
    running.last.unshift(`p${partition} @${message.offset} key ${bytesToText(message.key)}: ${bytesToText(message.value)}`);
    if (running.last.length > LAST_RECORDS) running.last.pop();
  }

  private setButton(running: boolean): void {
    this.button.textContent = running ? 'Stop' : 'Start';
    this.button.setAttribute('aria-pressed', String(running));
    for (const input of this.form.querySelectorAll<HTMLInputElement>('input')) input.disabled = running;
  }
}

/** A member of a consumer group: the coordinator decides what it owns. */
export class GroupMemberPanel extends ConsumerPanel {
  constructor(
    tabka: Tabka,
    meter: Meter,
    log: EventLog,
    private readonly onGroup: (groupId: string) => void,
  ) {
    super('member', tabka, meter, log);
  }

  protected async create(data: FormData): Promise<{ consumer: Consumer; label: string }> {
    const groupId = String(data.get('group')).trim();
    const topic = String(data.get('topic')).trim();
    const consumer = this.tabka.consumer({ groupId, clientId: `dashboard-${this.tabka.brokerId}` });
    this.watch(consumer, groupId);
    await consumer.subscribe({ topic, fromBeginning: data.get('fromBeginning') !== null });
    this.onGroup(groupId);
    return { consumer, label: `member of ${groupId} reading ${topic}` };
  }

  protected ownership(running: Running): string {
    const owned = running.consumer.assignment().map((tp) => `${tp.topic}-${tp.partition}`);
    return owned.length ? `owns ${owned.sort().join(', ')}` : 'owns nothing yet (joining, or more members than partitions)';
  }

  private watch(consumer: Consumer, groupId: string): void {
    consumer.on('consumer.group_join', ({ timestamp, payload }) => {
      const owns = Object.entries(payload.memberAssignment).map(([topic, partitions]) => partitions.map((p) => `${topic}-${p}`).join(', ')).join(', ') || 'nothing';
      this.log.add(timestamp, 'group', `${groupId}: this tab joined generation ${payload.generationId}${payload.isLeader ? ' as the group leader' : ''} (${payload.groupProtocol}), assigned ${owns}`);
    });
    consumer.on('consumer.rebalancing', ({ timestamp }) => this.log.add(timestamp, 'group', `${groupId}: rebalancing (a member joined or left)`));
    consumer.on('consumer.revoked', ({ timestamp, payload }) => {
      if (payload.partitions.length === 0) return;
      const which = payload.partitions.map((tp) => `${tp.topic}-${tp.partition}`).join(', ');
      this.log.add(timestamp, 'group', `${groupId}: ${payload.lost ? 'lost' : 'gave up'} ${which}`);
    });
    consumer.on('consumer.crash', ({ timestamp, payload }) => this.log.add(timestamp, 'group', `${groupId}: consumer crashed: ${describeError(payload.error)}`));
  }
}

/** A standalone reader of one partition from an offset: no group, nothing committed. */
export class ReaderPanel extends ConsumerPanel {
  constructor(tabka: Tabka, meter: Meter, log: EventLog) {
    super('reader', tabka, meter, log);
  }

  protected async create(data: FormData): Promise<{ consumer: Consumer; label: string }> {
    const topic = String(data.get('topic')).trim();
    const partition = Number(data.get('partition'));
    const offset = String(Number(data.get('offset')));
    const metadata = await this.tabka.admin().fetchTopicMetadata({ topics: [topic] });
    const count = metadata.topics[0]?.partitions.length ?? 0;
    if (partition >= count) throw new RangeError(`${topic} has partitions 0..${count - 1}, not ${partition}`);
    // A group id is required by the API, but a reader that only assign()s never joins or commits to it.
    const consumer = this.tabka.consumer({ groupId: `reader-${this.tabka.brokerId}-${Date.now()}` });
    consumer.assign([{ topic, partitions: [partition] }]);
    consumer.seek({ topic, partition, offset });
    this.log.add(Date.now(), 'client', `reading ${topic}-${partition} from offset ${offset} (standalone, no group)`);
    return { consumer, label: `reading ${topic}-${partition} from offset ${offset}` };
  }

  protected ownership(running: Running): string {
    const position = running.consumer.positions()[0];
    return position?.offset ? `next offset ${position.offset}` : 'waiting for the first fetch';
  }
}
