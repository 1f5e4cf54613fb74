/**
 * The guided tour: each step does the real thing on the live cluster (this tab is one of its
 * brokers) and shows what happened, so the words next to it can be checked against the
 * cluster itself.
 */
import { DEV_SIGNALING_SECRET, Tabka } from 'tabka';
import type { Consumer, Producer } from 'tabka';
import { describeError, element, h } from './dom';
import { dataRow, dataTable } from './table';
import type { Column } from './table';

const params = new URLSearchParams(location.search);
const cluster = params.get('cluster') ?? 'demo';
const secret = params.get('secret') ?? DEV_SIGNALING_SECRET;

const PARTITIONS = 3;
const KEYS = ['alice', 'bob', 'carol', 'dave'];
const TOUR_POLL_MS = 500;

type Acks = -1 | 0 | 1;

interface TourConsumer {
  readonly name: string;
  readonly groupId: string;
  readonly consumer: Consumer;
  read: number;
}

const button = (id: string) => element<HTMLButtonElement>(id);

interface OutcomeRow {
  /** Becomes the row's data-* attributes: what a reader's script (or a test) can pick rows by. */
  readonly data: Readonly<Record<string, string>>;
  readonly cells: readonly (string | number)[];
}

const row = (data: Record<string, string>, cells: readonly (string | number)[]): OutcomeRow => ({ data, cells });

/** A step's outcome as a table (one card per row on a phone), with a visible caption. */
function table(labels: readonly string[], rows: readonly OutcomeRow[], caption: string): HTMLElement {
  const columns: Column[] = labels.map((label, i) => ({ key: `c${i}`, label }));
  const { table: element, body } = dataTable(columns, caption, 'tour-table', true);
  for (const { data, cells } of rows) {
    const attributes = Object.fromEntries(Object.entries(data).map(([k, v]) => [`data-${k}`, v]));
    body.append(dataRow(columns, Object.fromEntries(cells.map((cell, i) => [`c${i}`, cell])), attributes));
  }
  return h('div', { class: 'scroll' }, element);
}

/** Runs a step's action with its button disabled; a failure is told where the step reports. */
function step(id: string, report: HTMLElement, action: () => Promise<void>): void {
  const control = button(id);
  control.addEventListener('click', () => {
    control.disabled = true;
    if (report.dataset.failed) {
      report.replaceChildren();
      delete report.dataset.failed;
    }
    action()
      .catch((error: unknown) => {
        report.replaceChildren(h('span', { class: 'error' }, `That did not work: ${describeError(error)}`));
        report.dataset.failed = 'true';
      })
      .finally(() => {
        control.disabled = false;
      });
  });
}

class Tour {
  private readonly topic = `tour-${Math.random().toString(36).slice(2, 7)}`;
  private readonly producer: Producer;
  private consumers: TourConsumer[] = [];
  private consumerTimer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly tabka: Tabka) {
    this.producer = tabka.producer();
    step('create-topic', element('topic-outcome'), () => this.createTopic());
    step('produce-keyed', element('keys-outcome'), () => this.produceKeyed());
    step('show-replicas', element('replicas-outcome'), () => this.showReplicas());
    step('send-acks', element('acks-outcome'), () => this.sendWithEachAcks());
    step('start-consumers', element('groups-error'), () => this.startConsumers());
    step('produce-more', element('groups-error'), () => this.produceMore());
    step('stop-consumers', element('groups-error'), () => this.stopConsumers());
    button('create-topic').disabled = false;
  }

  private async liveBrokers(): Promise<number> {
    const description = await this.tabka.admin().describeCluster();
    return description.brokers.filter((b) => b.live && b.active).length;
  }

  private async createTopic(): Promise<void> {
    const brokers = await this.liveBrokers();
    const replicationFactor = Math.min(3, brokers);
    const minIsr = Math.min(2, replicationFactor);
    await this.tabka.admin().createTopics({
      topics: [{ topic: this.topic, numPartitions: PARTITIONS, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minIsr) }] }],
    });
    const few = brokers < 3 ? ` (only ${brokers} live broker${brokers === 1 ? '' : 's'}: open more dashboard tabs for replication factor 3)` : '';
    element('topic-outcome').textContent = `Created topic ${this.topic}: ${PARTITIONS} partitions, replication factor ${replicationFactor}, min.insync.replicas ${minIsr}${few}.`;
    button('create-topic').hidden = true;
    for (const id of ['produce-keyed', 'show-replicas', 'send-acks', 'start-consumers']) button(id).disabled = false;
  }

  private async produceKeyed(): Promise<void> {
    // One send per key: its answer names the partition the key hashed to.
    const results = await Promise.all(
      KEYS.map(async (key) => {
        const messages = [1, 2, 3].map((n) => ({ key, value: `${key}'s record ${n}` }));
        const [sent] = await this.producer.send({ topic: this.topic, messages });
        if (!sent) throw new Error(`no answer for key ${key}`);
        const first = Number(sent.baseOffset);
        return { key, partition: sent.partition, offsets: `${first}–${first + messages.length - 1}` };
      }),
    );
    const rows = results.map((r) => row({ key: r.key, partition: String(r.partition) }, [r.key, r.partition, r.offsets]));
    const used = new Set(results.map((r) => r.partition)).size;
    element('keys-outcome').replaceChildren(
      table(['Key', 'Partition', 'Offsets'], rows, `Where each key's 3 records landed`),
      h('p', { class: 'takeaway' }, `Each key's records sit together in one partition, at consecutive offsets; the ${KEYS.length} keys spread over ${used} of the ${PARTITIONS} partitions.`),
    );
  }

  private async showReplicas(): Promise<void> {
    const admin = this.tabka.admin();
    const [{ topics }, offsets] = await Promise.all([admin.fetchTopicMetadata({ topics: [this.topic] }), admin.fetchTopicOffsets(this.topic)]);
    const partitions = topics[0]?.partitions ?? [];
    const rows = partitions.map((p) => {
      const o = offsets.find((x) => x.partition === p.partitionId);
      return row({ partition: String(p.partitionId) }, [p.partitionId, p.leader, p.replicas.join(', '), p.isr.join(', '), o?.high ?? '?', o?.logEndOffset ?? '?']);
    });
    const followers = partitions.some((p) => p.replicas.length > 1);
    element('replicas-outcome').replaceChildren(
      table(['Partition', 'Leader', 'Replicas', 'ISR', 'High watermark', 'Log end'], rows, `Replicas of ${this.topic}`),
      h(
        'p',
        { class: 'takeaway' },
        followers
          ? 'Each partition has its own leader, spread over the brokers; the followers are in the ISR once they caught up. When the high watermark equals the log end, every in-sync replica has every record. Crash a leader from its dashboard and a follower from the ISR takes over.'
          : 'With one broker there are no followers: the ISR is the leader alone. Open more dashboard tabs and create a new topic to see followers and the ISR.',
      ),
    );
  }

  private async sendWithEachAcks(): Promise<void> {
    const rows: OutcomeRow[] = [];
    for (const acks of [0, 1, -1] as const) {
      const name = acks === -1 ? 'all' : String(acks);
      const started = performance.now();
      const [sent] = await this.producer.send({ topic: this.topic, messages: [{ key: null, value: `sent with acks=${name}`, partition: 0 }], acks: acks as Acks });
      const ms = Math.round(performance.now() - started);
      // The leader's high watermark right after the send returned: below it, the record is safe on every ISR member.
      const [offsets] = await this.tabka.admin().fetchTopicOffsets(this.topic);
      const high = Number(offsets?.high ?? -1);
      const offset = acks === 0 ? null : Number(sent?.baseOffset);
      const meaning =
        offset === null
          ? 'the producer did not wait, so it cannot know the offset or whether the record arrived'
          : high > offset
            ? 'committed: every in-sync replica has it, a failover cannot lose it'
            : 'on the leader only for now: if the leader died this moment, the record could be lost';
      rows.push(row({ acks: name }, [`acks=${name}`, `${ms} ms`, offset ?? 'unknown', high, meaning]));
    }
    element('acks-outcome').replaceChildren(
      table(['Setting', 'Send took', 'Offset', 'High watermark just after', 'What that means'], rows, 'One record to partition 0 with each acks setting'),
      h('p', { class: 'takeaway' }, 'acks=all costs the time followers need to copy the record; in exchange the send only succeeds once the record survives the loss of the leader.'),
    );
  }

  private async startConsumers(): Promise<void> {
    const suffix = Math.random().toString(36).slice(2, 6);
    const queue = `tour-queue-${suffix}`;
    const pubsub = `tour-pubsub-${suffix}`;
    const plan = [
      { name: 'member A', groupId: queue },
      { name: 'member B', groupId: queue },
      { name: 'member C', groupId: pubsub },
    ];
    this.consumers = await Promise.all(
      plan.map(async ({ name, groupId }) => {
        const consumer = this.tabka.consumer({ groupId, clientId: `tour-${name.replace(' ', '-')}` });
        const entry: TourConsumer = { name, groupId, consumer, read: 0 };
        await consumer.subscribe({ topic: this.topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async () => {
            entry.read++;
          },
        });
        return entry;
      }),
    );
    button('start-consumers').hidden = true;
    button('produce-more').disabled = false;
    button('stop-consumers').disabled = false;
    this.consumerTimer = setInterval(() => void this.showConsumers().catch(() => undefined), TOUR_POLL_MS);
    await this.showConsumers();
  }

  private async showConsumers(): Promise<void> {
    const offsets = await this.tabka.admin().fetchTopicOffsets(this.topic);
    const total = offsets.reduce((sum, p) => sum + Number(p.high), 0);
    const owned = (c: TourConsumer) =>
      c.consumer
        .assignment()
        .map((tp) => tp.partition)
        .sort((a, b) => a - b);
    const rows = this.consumers.map((c) => row({ member: c.name }, [c.name, c.groupId, owned(c).join(', ') || 'nothing yet', c.read]));
    element('groups-outcome').replaceChildren(table(['Consumer', 'Group', 'Owns partitions', 'Records read'], rows, `Three consumers of ${this.topic}, which holds ${total} records`));
    const [a, b, c] = this.consumers;
    if (!a || !b || !c) return;
    const split = owned(a).length + owned(b).length === PARTITIONS && owned(a).length > 0 && owned(b).length > 0;
    const settled = split && owned(c).length === PARTITIONS && a.read + b.read === total && c.read === total;
    const summary = settled
      ? `Queue: members A and B of one group split the partitions and read ${a.read} + ${b.read} = ${total} records, each record once. Publish/subscribe: member C, alone in another group, read all ${total}.`
      : 'The coordinators are assigning partitions and the members are catching up…';
    const output = element('groups-summary');
    if (output.textContent !== summary) output.textContent = summary;
    output.dataset.settled = String(settled);
  }

  private async produceMore(): Promise<void> {
    const messages = Array.from({ length: 12 }, (_, i) => ({ key: KEYS[i % KEYS.length] ?? null, value: `more ${i}` }));
    await this.producer.send({ topic: this.topic, messages });
    await this.showConsumers();
  }

  private async stopConsumers(): Promise<void> {
    clearInterval(this.consumerTimer);
    await Promise.all(this.consumers.map((c) => c.consumer.disconnect()));
    element('groups-summary').textContent = 'Stopped: the members committed their offsets and left their groups; a new member of the same group would resume from there.';
    element('groups-summary').dataset.settled = 'stopped';
    this.consumers = [];
    button('produce-more').disabled = true;
    button('stop-consumers').hidden = true;
  }
}

/** A cluster is ready for the tour once it has a controller and this broker is registered with it. */
async function waitForController(tabka: Tabka): Promise<{ controller: number; brokers: number }> {
  for (;;) {
    const description = await tabka.admin().describeCluster();
    const self = description.brokers.find((b) => b.nodeId === tabka.brokerId);
    if (description.controller !== null && self?.active) return { controller: description.controller, brokers: description.brokers.filter((b) => b.live && b.active).length };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function main(): Promise<void> {
  element<HTMLAnchorElement>('dashboard-link').href = `./${location.search}`;
  const tabka = await Tabka.join({ cluster, secret });
  Object.assign(window, { tabka });
  element('tour-status').textContent = `This tab is broker ${tabka.brokerId}; waiting for the cluster's controller…`;
  const { controller, brokers } = await waitForController(tabka);
  new Tour(tabka);
  element('tour-status').textContent = `This tab is broker ${tabka.brokerId} of cluster "${cluster}": ${brokers} live broker(s), controller ${controller}. Ready: start with step 1.`;
}

main().catch((error: unknown) => {
  element('tour-status').textContent = `Could not join the cluster: ${describeError(error)}`;
  element('tour-status').classList.add('error');
});
